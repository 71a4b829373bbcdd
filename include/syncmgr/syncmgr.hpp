// syncmgr: shared Namespace, dict and list objects hosted by syncmgrd, used from many processes.
#pragma once

#include "syncmgr/dict.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/list.hpp"
#include "syncmgr/manager.hpp"
#include "syncmgr/namespace.hpp"
#include "syncmgr/proxy.hpp"
#include "syncmgr/value.hpp"
