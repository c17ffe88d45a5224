/* The `ota32` command groups. Each group's `run` takes the arguments after
 * its own name (argv[0] is the group name) and returns the process exit
 * status; each command's options are one table (opts.h), from which its
 * --help, the man page and the bash completion are written. */
#ifndef OTA32_TOOLS_COMMANDS_H
#define OTA32_TOOLS_COMMANDS_H

#include "opts.h"

extern const opt_group part_group;    /* part gen | show */
extern const opt_group image_group;   /* image info | verify | sign | make | elf2image */
extern const opt_group key_group;     /* key digest */
extern const opt_group nvs_group;     /* nvs gen | dump | get */
extern const opt_group otadata_group; /* otadata show | switch | mark */
extern const opt_group merge_group;   /* merge -o OUT ADDR FILE ... */
extern const opt_group flash_group;   /* flash inspect */
extern const opt_group device_group;  /* device create | flash | boot | run */
extern const opt_group fetch_group;   /* fetch URL */
extern const opt_group serve_group;   /* serve */

/* Commands defined in a file of their own. */
extern const opt_cmd image_sign_cmd;
int cmd_image_sign(int argc, char **argv);
extern const opt_cmd device_efuse_cmd;
int cmd_device_efuse(int argc, char **argv);
extern const opt_cmd image_elf2image_cmd;
int cmd_image_elf2image(int argc, char **argv);
extern const opt_cmd device_run_cmd;
int cmd_device_run(int argc, char **argv);

#endif
