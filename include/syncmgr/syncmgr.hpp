// syncmgr: shared objects (Namespace, dict, list, Queue, Lock, ...) hosted by syncmgrd, used from
// many processes.
#pragma once

#include "syncmgr/dict.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/list.hpp"
#include "syncmgr/lock.hpp"
#include "syncmgr/manager.hpp"
#include "syncmgr/namespace.hpp"
#include "syncmgr/proxy.hpp"
#include "syncmgr/queue.hpp"
#include "syncmgr/shared_value.hpp"
#include "syncmgr/sync.hpp"
#include "syncmgr/value.hpp"
