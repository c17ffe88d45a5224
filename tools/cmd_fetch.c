#include "commands.h"
#include "util.h"

/* Placeholder until this command group lands. */
int cmd_fetch(int argc, char **argv)
{
    (void)argc;
    return util_fail("%s: not implemented yet", argv[0]);
}
