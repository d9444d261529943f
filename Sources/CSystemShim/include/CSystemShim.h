#ifndef CAIRN_SYSTEM_SHIM_H
#define CAIRN_SYSTEM_SHIM_H
/// rename(2) that fails with EEXIST instead of replacing an existing target (Linux renameat2).
int cairn_rename_noreplace(const char *from, const char *to);
#endif
