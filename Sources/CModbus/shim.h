#ifndef LABGATE_CMODBUS_SHIM_H
#define LABGATE_CMODBUS_SHIM_H
#include <modbus.h>
#include <errno.h>

/* Swift cannot import libmodbus's function-like error macros: re-export them as constants. */
static const int LG_MODBUS_ENOBASE = MODBUS_ENOBASE;
static const int LG_EMBXILFUN = EMBXILFUN;
static const int LG_EMBXILADD = EMBXILADD;
static const int LG_EMBXILVAL = EMBXILVAL;
static const int LG_EMBXSFAIL = EMBXSFAIL;
static const int LG_EMBXACK = EMBXACK;
static const int LG_EMBXSBUSY = EMBXSBUSY;
static const int LG_EMBXNACK = EMBXNACK;
static const int LG_EMBXMEMPAR = EMBXMEMPAR;
static const int LG_EMBXGPATH = EMBXGPATH;
static const int LG_EMBXGTAR = EMBXGTAR;
static const int LG_EMBBADCRC = EMBBADCRC;
static const int LG_EMBBADDATA = EMBBADDATA;
static const int LG_EMBBADEXC = EMBBADEXC;
static const int LG_EMBUNKEXC = EMBUNKEXC;
static const int LG_EMBMDATA = EMBMDATA;
static const int LG_EMBBADSLAVE = EMBBADSLAVE;
static const int LG_MODBUS_MAX_READ_REGISTERS = MODBUS_MAX_READ_REGISTERS;
static const int LG_MODBUS_RTU_RS485 = MODBUS_RTU_RS485;

/* errno is a macro on glibc; read it through a function right after a failing call. */
static inline int lg_errno(void) { return errno; }
#endif
