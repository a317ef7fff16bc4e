/* Numeric "host:port" / "[v6]:port" to a socket address (port 0 allowed: any free port). */
#ifndef CP_ADDR_H
#define CP_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

int cp_addr_parse(const char *s, struct sockaddr_storage *ss, int *len);
/* "host:port" of an IPv4/IPv6 peer address ("?" for other families). */
void cp_addr_format(const struct sockaddr *sa, char *out, size_t len);
/* Port bound to a listening socket. */
unsigned short cp_addr_port(int fd);

#endif
