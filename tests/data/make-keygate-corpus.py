#!/usr/bin/env python3
"""make-keygate-corpus.py — build the key-gate and request-gate corpus (README "Key gate and
request gate"): requests `openssl req` cannot make, each with a VALID signature wherever one can
exist, so offca must refuse them for the intended rule and not because proof of possession fails.

  python3 tests/data/make-keygate-corpus.py          regenerate tests/data/{bad,good}/csr/keygate/
  python3 tests/data/make-keygate-corpus.py --spki F print the SubjectPublicKeyInfo of the DER
                                                     certificate or request F in hex (for tests)

Needs python3 only (no modules beyond the standard library): DER is built by hand, RSA signs
with the private exponent, ECDSA is done on the curve here. Deterministic: a fixed seed, so a
rerun rewrites the same bytes. bad/csr/keygate/MANIFEST lists "file exit rule-fragment"; good/
csr/keygate/MANIFEST lists the requests that must be certified.

ROCA moduli follow the published construction (Nemec et al., CCS 2017): each prime is
p = k * M + (65537^a mod M), M the primorial of the first 39/71/126 primes by key size. Fermat
moduli have primes close enough for Fermat's method to find them within 100 rounds.
"""
import hashlib
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad", "csr", "keygate")
GOOD = os.path.join(HERE, "good", "csr", "keygate")
RNG = random.Random(20261203)

# ---- DER -----------------------------------------------------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b

def tlv(tag, content, length=None):
    return bytes([tag]) + (length if length is not None else der_len(len(content))) + content

def seq(*parts):
    return tlv(0x30, b"".join(parts))

def int_bytes(v):
    if v == 0:
        return b"\x00"
    b = v.to_bytes((v.bit_length() + 7) // 8, "big")
    return b"\x00" + b if b[0] & 0x80 else b

def integer(v):
    return tlv(0x02, int_bytes(v))

def oid(text):
    arcs = [int(x) for x in text.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.insert(0, 0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(chunk)
    return tlv(0x06, body)

def bitstring(b, unused=0):
    return tlv(0x03, bytes([unused]) + b)

NULL = b"\x05\x00"
OID = {
    "rsa": "1.2.840.113549.1.1.1", "ec": "1.2.840.10045.2.1", "p256": "1.2.840.10045.3.1.7",
    "p384": "1.3.132.0.34", "k256": "1.3.132.0.10", "prime-field": "1.2.840.10045.1.1",
    "sha256rsa": "1.2.840.113549.1.1.11", "sha1rsa": "1.2.840.113549.1.1.5",
    "md5rsa": "1.2.840.113549.1.1.4", "md4rsa": "1.2.840.113549.1.1.3",
    "md2rsa": "1.2.840.113549.1.1.2", "pss": "1.2.840.113549.1.1.10",
    "ecdsa256": "1.2.840.10045.4.3.2", "ecdsa384": "1.2.840.10045.4.3.3",
    "ecdsa1": "1.2.840.10045.4.1", "dsa256": "2.16.840.1.101.3.4.3.2",
    "cn": "2.5.4.3", "o": "2.5.4.10", "ou": "2.5.4.11", "dc": "0.9.2342.19200300.100.1.25",
    "email": "1.2.840.113549.1.9.1", "extreq": "1.2.840.113549.1.9.14", "san": "2.5.29.17",
}
DIGESTINFO = {  # DER prefix of DigestInfo (RFC 8017 9.2 note 1)
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "md5": bytes.fromhex("3020300c06082a864886f70d020505000410"),
}

def name(rdns):
    """rdns: list of RDNs, each a list of (oid key, string tag, value bytes)."""
    out = b""
    for rdn in rdns:
        out += tlv(0x31, b"".join(seq(oid(OID[t]), tlv(tag, v)) for t, tag, v in rdn))
    return tlv(0x30, out)

def cn(v, tag=0x0C):
    return [[("cn", tag, v.encode())]]

# ---- arithmetic ----------------------------------------------------------------------------------

SMALL = [p for p in range(2, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]

def is_prime(n):
    if n < 2:
        return False
    for p in SMALL[:150]:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        x = pow(RNG.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True

def prime(bits, e=65537):
    while True:
        p = RNG.getrandbits(bits) | (3 << (bits - 2)) | 1
        if is_prime(p) and math.gcd(p - 1, e) == 1:
            return p

def next_prime(n, e=65537):
    n |= 1
    while not (is_prime(n) and math.gcd(n - 1, e) == 1):
        n += 2
    return n

# ---- RSA ---------------------------------------------------------------------------------------

class RSA:
    def __init__(self, p, q, e=65537):
        self.n, self.e = p * q, e
        lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        self.d = pow(e, -1, lam) if math.gcd(e, lam) == 1 else None

    def spki(self, n_bytes=None, e_bytes=None, params=NULL):
        nb = n_bytes if n_bytes is not None else int_bytes(self.n)
        eb = e_bytes if e_bytes is not None else int_bytes(self.e)
        key = seq(tlv(0x02, nb), tlv(0x02, eb))
        return seq(seq(oid(OID["rsa"]), params), bitstring(key))

    def sign(self, data, hname="sha256"):
        k = (self.n.bit_length() + 7) // 8
        if self.d is None:  # no private exponent exists (even e): the gate refuses first
            return bytes(k)
        t = DIGESTINFO[hname] + hashlib.new(hname, data).digest()
        em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(k, "big")

def rsa_key(bits, e=65537):
    while True:
        p, q = prime(bits // 2, e), prime(bits - bits // 2, e)
        if (p * q).bit_length() == bits:
            return RSA(p, q, e)

# ---- EC ----------------------------------------------------------------------------------------

CURVES = {
    "p256": dict(p=2**256 - 2**224 + 2**192 + 2**96 - 1, a=-3,
                 b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
                 gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
                 gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
                 n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551, size=32),
    "p384": dict(p=2**384 - 2**128 - 2**96 + 2**32 - 1, a=-3,
                 b=int("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
                       "c656398d8a2ed19d2a85c8edd3ec2aef", 16),
                 gx=int("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
                        "5502f25dbf55296c3a545e3872760ab7", 16),
                 gy=int("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
                        "0a60b1ce1d7e819d7a431d7c90ea0e5f", 16),
                 n=int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
                       "581a0db248b0a77aecec196accc52973", 16), size=48),
}

def ec_add(c, P, Q):
    if P is None:
        return Q
    if Q is None:
        return P
    p = c["p"]
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0:
        return None
    if P == Q:
        l = (3 * P[0] * P[0] + c["a"]) * pow(2 * P[1], -1, p) % p
    else:
        l = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
    x = (l * l - P[0] - Q[0]) % p
    return (x, (l * (P[0] - x) - P[1]) % p)

def ec_mul(c, k, P):
    R = None
    while k:
        if k & 1:
            R = ec_add(c, R, P)
        P = ec_add(c, P, P)
        k >>= 1
    return R

class EC:
    def __init__(self, curve, G=None):
        self.c = CURVES[curve]
        self.curve = curve
        self.G = G or (self.c["gx"], self.c["gy"])
        self.d = RNG.randrange(1, self.c["n"])
        self.Q = ec_mul(self.c, self.d, self.G)

    def point(self, form="uncompressed"):
        s = self.c["size"]
        x, y = self.Q
        if form == "compressed":
            return bytes([2 + (y & 1)]) + x.to_bytes(s, "big")
        if form == "hybrid":
            return bytes([6 + (y & 1)]) + x.to_bytes(s, "big") + y.to_bytes(s, "big")
        return b"\x04" + x.to_bytes(s, "big") + y.to_bytes(s, "big")

    def explicit_params(self):
        c, s = self.c, self.c["size"]
        field = seq(oid(OID["prime-field"]), integer(c["p"]))
        curve = seq(tlv(0x04, (c["a"] % c["p"]).to_bytes(s, "big")), tlv(0x04, c["b"].to_bytes(s, "big")))
        base = tlv(0x04, b"\x04" + self.G[0].to_bytes(s, "big") + self.G[1].to_bytes(s, "big"))
        return seq(integer(1), field, curve, base, integer(c["n"]), integer(1))

    def spki(self, form="uncompressed", params=None, point=None):
        params = params if params is not None else oid(OID[self.curve])
        return seq(seq(oid(OID["ec"]), params), bitstring(point if point is not None else self.point(form)))

    def sign(self, data, hname="sha256"):
        n = self.c["n"]
        h = int.from_bytes(hashlib.new(hname, data).digest(), "big")
        h >>= max(0, hashlib.new(hname).digest_size * 8 - n.bit_length())
        while True:
            k = RNG.randrange(1, n)
            r = ec_mul(self.c, k, self.G)[0] % n
            s = pow(k, -1, n) * (h + r * self.d) % n
            if r and s:
                return seq(integer(r), integer(s))

# ---- requests ----------------------------------------------------------------------------------

def cri(subject, spki, attrs=b""):
    return seq(integer(0), subject, spki, tlv(0xA0, attrs))

def csr(info, key, sigalg, hname="sha256", sig=None):
    s = sig if sig is not None else key.sign(info, hname)
    return seq(info, sigalg, bitstring(s))

def alg(o, params=b""):
    return seq(oid(OID[o]), params) if o in OID else seq(oid(o), params)

RSA_ALG = alg("sha256rsa", NULL)
EC_ALG = alg("ecdsa256")
HOST = name(cn("host.contoso.com"))

def rsa_req(key, subject=HOST, spki=None, sigalg=RSA_ALG, hname="sha256", attrs=b""):
    return csr(cri(subject, spki or key.spki(), attrs), key, sigalg, hname)

def ec_req(key, subject=HOST, spki=None, sigalg=EC_ALG, hname="sha256", form="uncompressed"):
    return csr(cri(subject, spki or key.spki(form)), key, sigalg, hname)

def fermat_rounds(n, limit=1000):
    a = math.isqrt(n)
    if a * a < n:
        a += 1
    for i in range(limit):
        b2 = (a + i) ** 2 - n
        if math.isqrt(b2) ** 2 == b2:
            return i + 1
    return None

def roca_prime(bits, nprimes):
    M = math.prod(SMALL[:nprimes])
    while True:
        k = RNG.getrandbits(bits - M.bit_length() + 1)
        p = k * M + pow(65537, RNG.randrange(1, 2**20), M)
        if p.bit_length() == bits and is_prime(p):
            return p

# ---- the cases ---------------------------------------------------------------------------------

def bad_cases():
    k2 = rsa_key(2048)
    cases = []

    def add(fname, der, code, frag):
        cases.append((fname, der, code, frag))

    # RSA exponents (CA/B BR 6.1.6)
    for e in (3, 17, 1):
        k = rsa_key(2048, e) if e != 1 else RSA(prime(1024), prime(1024), 1)
        add("rsa-e%d.der" % e, rsa_req(k), 1, "RSA public exponent %d is below 65537" % e)
    for e in (2, 65536):
        add("rsa-e%d-even.der" % e, rsa_req(RSA(prime(1024), prime(1024), e)), 1,
            "RSA public exponent %d is even" % e)
    big = RSA(prime(1024), prime(1024), 2**256 + 1)
    add("rsa-e-2^256+1.der", rsa_req(big), 1, "not below 2^256")
    # RSA encoding (RFC 3279 2.3.1, X.690 8.3.2): the request bytes are not what a certificate
    # may carry, so the certificate must not copy them
    nb = k2.n.to_bytes(256, "big")
    add("rsa-modulus-negative.der", rsa_req(k2, spki=k2.spki(n_bytes=nb)), 1,
        "RSA modulus is a negative INTEGER")
    add("rsa-modulus-zero-padded.der", rsa_req(k2, spki=k2.spki(n_bytes=b"\x00\x00" + nb)), 1,
        "RSA modulus is not minimally encoded")
    add("rsa-exponent-zero-padded.der", rsa_req(k2, spki=k2.spki(e_bytes=b"\x00\x01\x00\x01")), 1,
        "RSA public exponent is not minimally encoded")
    add("rsa-params-absent.der", rsa_req(k2, spki=k2.spki(params=b"")), 1,
        "rsaEncryption parameters must be NULL")
    # modulus arithmetic (BR 6.1.6: odd, no factor below 752)
    even = RSA(prime(1024), prime(1024))
    even.n += 1
    add("rsa-modulus-even.der", rsa_req(even), 1, "RSA modulus is even")
    for f in (3, 61, 751):
        k = RSA(f, prime(2048 - f.bit_length()))   # top bits set: n has 2048 bits
        assert k.n.bit_length() == 2048
        add("rsa-factor-%d.der" % f, rsa_req(k), 1, "small prime factor %d" % f)
    # Fermat (BR 6.1.1.3): close primes, several distances
    p = prime(1024)
    for label, gap in (("adjacent", 2), ("2^200", 2**200), ("gap-12x2^512", 12 * 2**512)):
        q = next_prime(p + gap)
        k = RSA(p, q)
        r = fermat_rounds(k.n, 100)
        assert r is not None, label
        add("rsa-fermat-%s.der" % label, rsa_req(k), 1, "Fermat's method in round %d" % r)
    sq = RSA(p, p)
    sq.d = None
    add("rsa-fermat-square.der", rsa_req(sq), 1, "Fermat's method in round 1")
    # ROCA (CVE-2017-15361): the published construction, two key sizes
    for bits, np_ in ((1024, 39), (2048, 126)):
        k = RSA(roca_prime(bits // 2, np_), roca_prime(bits // 2, np_))
        add("rsa-roca-%d.der" % bits, rsa_req(k), 1, "ROCA fingerprint")
    # EC: named curves only (RFC 5480, CVE-2020-0601), the point decoded and on the curve
    e = EC("p256")
    add("ec-explicit-p256.der", ec_req(e, spki=e.spki(params=e.explicit_params())), 1,
        "explicit curve parameters")
    c = CURVES["p256"]
    g2 = ec_mul(c, 2, (c["gx"], c["gy"]))
    cb = EC("p256", G=g2)   # CurveBall: a chosen generator, the key valid against it
    add("ec-explicit-curveball.der", ec_req(cb, spki=cb.spki(params=cb.explicit_params())), 1,
        "explicit curve parameters")
    add("ec-implicit-ca.der", ec_req(e, spki=e.spki(params=NULL)), 1, "without a namedCurve")
    add("ec-secp256k1.der", ec_req(e, spki=e.spki(params=oid(OID["k256"]))), 1,
        "EC curve secp256k1 is not allowed")
    x, y = e.Q
    off = b"\x04" + x.to_bytes(32, "big") + ((y + 1) % c["p"]).to_bytes(32, "big")
    add("ec-point-off-curve.der", ec_req(e, spki=e.spki(point=off)), 1, "not on curve")
    add("ec-point-infinity.der", ec_req(e, spki=e.spki(point=b"\x00")), 1, "point at infinity")
    add("ec-point-hybrid.der", ec_req(e, spki=e.spki(form="hybrid")), 1,
        "neither compressed nor uncompressed")
    add("ec-point-truncated.der", ec_req(e, spki=e.spki(point=e.point()[:33])), 1,
        "neither compressed nor uncompressed")
    # signature algorithms (allow-list; MD5 never; SHA-1 only if the template allows)
    for h, o in (("md5", "md5rsa"), ("md5", "md4rsa"), ("md5", "md2rsa")):
        add("sig-%s.der" % o, rsa_req(k2, sigalg=alg(o, NULL), hname=h), 1, "is never accepted")
    add("sig-sha1-rsa.der", rsa_req(k2, sigalg=alg("sha1rsa", NULL), hname="sha1"), 1,
        "signed with SHA-1")
    add("sig-sha1-ecdsa.der", ec_req(e, sigalg=alg("ecdsa1"), hname="sha1"), 1,
        "signed with SHA-1")
    add("sig-pss-default-sha1.der", rsa_req(k2, sigalg=alg("pss", seq())), 1,
        "RSASSA-PSS parameters")
    add("sig-ecdsa-null-params.der", ec_req(e, sigalg=alg("ecdsa256", NULL)), 1,
        "parameters it must not have")
    add("sig-dsa-sha256.der", rsa_req(k2, sigalg=alg("dsa256")), 1, "not on the allow-list")
    add("sig-unknown-oid.der", rsa_req(k2, sigalg=alg("1.2.3.4.5", NULL)), 1,
        "not on the allow-list")
    # strict DER (X.690 10): BER that OpenSSL decodes
    info = cri(HOST, k2.spki())
    body = info + RSA_ALG + bitstring(k2.sign(info))
    add("ber-indefinite-outer.der", b"\x30\x80" + body + b"\x00\x00", 3, "an indefinite length")
    subj = HOST
    ber_subj = b"\x30\x80" + subj[2:] + b"\x00\x00"
    info2 = seq(integer(0), ber_subj, k2.spki(), tlv(0xA0, b""))
    add("ber-indefinite-subject.der", csr(info2, k2, RSA_ALG), 3, "an indefinite length")
    add("ber-length-three-octets.der",
        tlv(0x30, info + RSA_ALG + tlv(0x03, b"\x00" + k2.sign(info), length=b"\x83\x00\x01\x01")),
        3, "leading zero octets")
    info3 = seq(integer(0), tlv(0x30, subj[2:], length=b"\x81" + bytes([len(subj) - 2])),
                k2.spki(), tlv(0xA0, b""))
    add("ber-long-form-short-value.der", csr(info3, k2, RSA_ALG), 3,
        "long-form length for a value under 128")
    info4 = seq(integer(0), tlv(0x30, subj[2:], length=b"\x82\x00" + bytes([len(subj) - 2])),
                k2.spki(), tlv(0xA0, b""))
    add("ber-length-leading-zero.der", csr(info4, k2, RSA_ALG), 3, "leading zero octets")
    san = seq(tlv(0x82, b"host.contoso.com"))
    for label, crit, val in (("boolean-01", b"\x01\x01\x01", tlv(0x04, san)),
                             ("boolean-7f", b"\x01\x01\x7f", tlv(0x04, san)),
                             ("constructed-octet-string", b"",
                              tlv(0x24, tlv(0x04, san[:4]) + tlv(0x04, san[4:])))):
        ext = seq(oid(OID["san"]), crit, val)
        attr = seq(oid(OID["extreq"]), tlv(0x31, seq(ext)))
        info5 = cri(HOST, k2.spki(), attr)
        add("ber-%s.der" % label, csr(info5, k2, RSA_ALG), 3,
            "a constructed string" if "octet" in label else "a BOOLEAN other than 0x00 or 0xFF")
    odd_bits = info + RSA_ALG + tlv(0x03, b"\x01" + k2.sign(info)[:-1] + b"\x01")
    add("ber-bitstring-unused-bits.der", tlv(0x30, odd_bits), 3, "unused bits are not zero")
    # subject: one attribute twice (multi-valued RDN too), strings against their type
    two = [[("cn", 0x0C, b"host.contoso.com"), ("cn", 0x0C, b"dc01.contoso.com")]]
    add("subject-two-cn-one-rdn.der", rsa_req(k2, subject=name(two)), 1,
        "attribute CN appears 2 times (in one multi-valued RDN)")
    sep = [[("cn", 0x0C, b"host.contoso.com")], [("cn", 0x0C, b"dc01.contoso.com")]]
    add("subject-two-cn.der", rsa_req(k2, subject=name(sep)), 1, "attribute CN appears 2 times")
    three = [[("o", 0x0C, b"Contoso")], [("o", 0x0C, b"Fabrikam")], [("cn", 0x0C, b"host")]]
    add("subject-two-o.der", rsa_req(k2, subject=name(three)), 1, "attribute O appears 2 times")
    for label, v in (("at", "host@contoso.com"), ("underscore", "host_1.contoso.com"),
                     ("star", "*.contoso.com")):
        add("subject-printable-%s.der" % label, rsa_req(k2, subject=name(cn(v, 0x13))), 3,
            "PrintableString with a character outside its set")
    em = [[("email", 0x0C, b"a@contoso.com")], [("cn", 0x0C, b"host")]]
    add("subject-email-utf8.der", rsa_req(k2, subject=name(em)), 3, "must be an IA5String")
    dc = [[("dc", 0x13, b"com")], [("cn", 0x0C, b"host")]]
    add("subject-dc-printable.der", rsa_req(k2, subject=name(dc)), 3, "must be an IA5String")
    dc8 = [[("dc", 0x16, "caf\u00e9".encode("latin-1"))], [("cn", 0x0C, b"host")]]
    add("subject-ia5-non-ascii.der", rsa_req(k2, subject=name(dc8)), 3, "non-ASCII octet")
    return cases

def good_cases():
    cases = []
    for bits in (2048, 3072, 4096):
        cases.append(("rsa%d-e65537.der" % bits, rsa_req(rsa_key(bits))))
    p = prime(1024)
    far = RSA(p, next_prime(p + 2**700))  # primes 2^700 apart: far past 100 Fermat rounds
    assert fermat_rounds(far.n, 100) is None
    cases.append(("rsa2048-primes-2^700-apart.der", rsa_req(far)))
    for curve, h, a in (("p256", "sha256", "ecdsa256"), ("p384", "sha384", "ecdsa384")):
        for form in ("uncompressed", "compressed"):
            cases.append(("%s-%s.der" % (curve, form),
                          ec_req(EC(curve), sigalg=alg(a), hname=h, form=form)))
    return cases

def spki_of(der):
    """The SubjectPublicKeyInfo TLV of a DER certificate or request."""
    def read(b, i):
        tag, l, j = b[i], b[i + 1], i + 2
        if l & 0x80:
            n = l & 0x7F
            l, j = int.from_bytes(b[j:j + n], "big"), j + n
        return tag, j, j + l
    _, s, _ = read(der, 0)
    tag, s2, e2 = read(der, s)            # tbsCertificate / certificationRequestInfo
    i = s2
    while i < e2:
        tag, vs, ve = read(der, i)
        if tag == 0x30 and der[vs] == 0x30 and der[vs + 2] == 0x06:
            return der[i:ve]              # SEQUENCE { SEQUENCE { OID ...} BIT STRING }
        i = ve
    raise SystemExit("no SubjectPublicKeyInfo found")

def write(d, cases, manifest_lines):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    for c in cases:
        with open(os.path.join(d, c[0]), "wb") as fh:
            fh.write(c[1])
    with open(os.path.join(d, "MANIFEST"), "w") as fh:
        fh.write(manifest_lines)

def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--spki":
        with open(sys.argv[2], "rb") as fh:
            print(spki_of(fh.read()).hex())
        return
    bad = bad_cases()
    write(BAD, bad, "# file exit rule-fragment (written by tests/data/make-keygate-corpus.py)\n" +
          "".join("%s %d %s\n" % (f, c, frag) for f, _, c, frag in bad))
    good = good_cases()
    write(GOOD, good, "# requests the key gate must accept (tests/data/make-keygate-corpus.py)\n" +
          "".join("%s\n" % g[0] for g in good))
    print("wrote %d bad and %d good requests" % (len(bad), len(good)))

if __name__ == "__main__":
    main()
