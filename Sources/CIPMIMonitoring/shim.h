#include <ipmi_monitoring.h>
#include <ipmi_monitoring_bitmasks.h>
