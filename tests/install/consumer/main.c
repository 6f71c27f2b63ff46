// SPDX-License-Identifier: MIT
/* A C program outside the ipcx tree: the version header and ipcx_version(). */
#include <ipcx/version.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  if (strcmp(ipcx_version(NULL, NULL, NULL), IPCX_VERSION_STRING) != 0) return 1;
  printf("ipcx %s\n", ipcx_version(NULL, NULL, NULL));
  return 0;
}
