/* tool.h: what every tool's main() does the same way: version, config. */
#ifndef CW_TOOL_H
#define CW_TOOL_H

struct cw_config;

/* Prints "TOOL (cartwatch) VERSION" on stdout, for --version. */
void cw_print_version(void);

/*
 * Loads the tool's configuration: path (from -c), else $CARTWATCH_CONFIG, else
 * ./appsettings.json. A file that cannot be read or parsed exits
 * CW_EXIT_USAGE with the reason. When optional is set and no -c was given and
 * the default file does not exist, an empty configuration is returned instead.
 * Caller frees with cw_config_free().
 */
struct cw_config *cw_tool_config(const char *path, int optional);

/* A whole-number option's argument within [min, max]; anything else exits
 * CW_EXIT_USAGE with "TOOL: OPT: expected a whole number from MIN to MAX". */
long long cw_opt_int(const char *opt, const char *arg, long long min, long long max);

#endif
