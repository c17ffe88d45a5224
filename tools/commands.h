/* The `ota32` command groups. Each takes the arguments after its own name
 * (argv[0] is the group name) and returns the process exit status. */
#ifndef OTA32_TOOLS_COMMANDS_H
#define OTA32_TOOLS_COMMANDS_H

int cmd_part(int argc, char **argv);      /* part gen | show */
int cmd_image(int argc, char **argv);     /* image info | verify | make | elf2image */
int cmd_image_elf2image(int argc, char **argv);
int cmd_nvs(int argc, char **argv);       /* nvs gen | dump | get */
int cmd_otadata(int argc, char **argv);   /* otadata show | switch | mark */
int cmd_merge(int argc, char **argv);     /* merge -o OUT ADDR FILE ... */
int cmd_flash(int argc, char **argv);     /* flash inspect */
int cmd_device(int argc, char **argv);    /* device create | flash | boot | run */
int cmd_device_run(int argc, char **argv);
int cmd_fetch(int argc, char **argv);     /* fetch URL */
int cmd_serve(int argc, char **argv);     /* serve */

#endif
