#include "ca/app.h"
#include "ca/verb.h"
const char HELP_STATUS[] = "usage: offca status\n";
int cmd_status(struct app *a, int argc, char **argv) { return 0; }
