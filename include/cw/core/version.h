/* version.h: the one version string every tool prints for --version. */
#ifndef CW_VERSION_H
#define CW_VERSION_H
#define CW_VERSION "0.1.0"
#endif
