/*
 * trust.c — the rule for files that decide what offca does (ca.toml, the templates directory and
 * its files, the store): owned by root or by the running user, and not writable by group or
 * others, like pin_file. Judged on fstat of the open descriptor, so the file judged is the file
 * read. ca.toml and templates are refused when offca runs as root (a root process must not
 * follow another user's instructions) and warned about otherwise.
 */
#include "base/trust.h"
#include "templates/template.h"
#include "templates/tmpl_err.h"

#include "templates/tmpl_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void (*warn_fn)(const char *msg);

/* Where trust warnings go (ca/ sets its reporter); NULL: stderr. */
void tmpl_warn_set(void (*fn)(const char *msg)) { warn_fn = fn; }

static void warn(const char *msg)
{
    if (warn_fn != NULL)
        warn_fn(msg);
    else
        fprintf(stderr, "offca: warning: %s\n", msg);
}

/* Why st (of path) may not be trusted, in why[n]; 1 when it may. See template.h. */
int tmpl_trust_check(const char *path, const struct stat *st, char *why, size_t n)
{
    return trust_owner_mode(path, NULL, "change what offca does", st, why, n);
}

/* The rule for ca.toml and templates: refused as root (class 3), a warning otherwise. */
int tmpl_trust_config(const char *path, const struct stat *st)
{
    char why[1024], msg[1200];

    if (tmpl_trust_check(path, st, why, sizeof(why)))
        return 1;
    if (geteuid() == 0) {
        tmpl_seterr(TE_INPUT, "%s (refused: offca runs as root)", why);
        return 0;
    }
    snprintf(msg, sizeof(msg), "%s (offca does not run as root, so it goes on; as root this "
             "is refused)", why);
    warn(msg);
    return 1;
}

/* Open the templates directory, checked on its descriptor (see tmpl_int.h). */
DIR *tmpl_trust_opendir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    DIR *d;

    if (fd < 0) {
        tmpl_seterr(TE_INPUT, "%s: templates: cannot open the directory: %m; check "
                    "templates_dir", dir);
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        tmpl_seterr(TE_INPUT, "%s: templates: cannot stat the directory: %m; check "
                    "templates_dir", dir);
        close(fd);
        return NULL;
    }
    if (!tmpl_trust_config(dir, &st) || (d = fdopendir(fd)) == NULL) {
        if (tmpl_error()[0] == '\0')
            tmpl_seterr(TE_SYSTEM, "%s: templates: fdopendir: %m; retry", dir);
        close(fd);
        return NULL;
    }
    return d;
}
