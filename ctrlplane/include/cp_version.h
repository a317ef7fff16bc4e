/* Build identity reported by qkdctl, qkdmgr and the Mk status reports. */
#ifndef CP_VERSION_H
#define CP_VERSION_H

/* "qkdnode <version> (<git revision>, cpu <dispatch level>)" into buf; returns buf. */
const char *cp_version_string(char *buf, unsigned len);

#endif
