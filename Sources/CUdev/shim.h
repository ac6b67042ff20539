#ifndef LABGATE_CUDEV_SHIM_H
#define LABGATE_CUDEV_SHIM_H
#include <libudev.h>
#endif
