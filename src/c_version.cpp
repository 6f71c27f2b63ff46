// ipcx_version(), the C API's view of ipcx::version(); its own file so that the C API's
// other calls (c_api.cpp) can change without touching it.
#include "ipcx/version.hpp"

extern "C" const char* ipcx_version(void) { return IPCX_VERSION_STRING; }
