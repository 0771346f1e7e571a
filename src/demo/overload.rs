//! The demo ERP's overload mode: a cursor pool of N, like a threaded Odoo's `db_maxconn`. A call
//! that finds every cursor in use fails the three ways a real Odoo 17 / 18 does, in turn: fault 1
//! `PoolError: The Connection Pool Is Full`, an HTML 500 in request set-up (before any method
//! runs), and fault 1 `OperationalError ... sorry, too many clients already` (PostgreSQL full).
//! None of them runs the method. A borrowed cursor is held for `hold` (the time a query takes).
//! No I/O besides that wait.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::faults::Fault;

/// The overload mode's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverloadMode {
    /// Database cursors for the whole server (Odoo's `db_maxconn`).
    pub cursors: usize,
    /// How long each call holds its cursor, as a query would.
    pub hold: Duration,
}

/// How a call that found no free cursor fails.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    /// A fault 1 whose method never ran.
    Fault(Fault),
    /// Werkzeug's HTML 500: the request failed while Odoo set it up.
    SetupError,
}

pub(crate) struct CursorPool {
    mode: OverloadMode,
    in_use: AtomicUsize,
    refusals: AtomicU64,
}

/// A borrowed cursor, given back when dropped.
pub(crate) struct Cursor<'a>(&'a CursorPool);

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CursorPool {
    pub(crate) fn new(mode: OverloadMode) -> CursorPool {
        CursorPool {
            mode,
            in_use: AtomicUsize::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    pub(crate) fn hold(&self) -> Duration {
        self.mode.hold
    }

    /// A cursor, or the way this call fails when all are in use.
    pub(crate) fn borrow(&self) -> Result<Cursor<'_>, Refusal> {
        let size = self.mode.cursors;
        let taken = self
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < size).then_some(n + 1)
            });
        if taken.is_ok() {
            return Ok(Cursor(self));
        }
        Err(match self.refusals.fetch_add(1, Ordering::Relaxed) % 3 {
            0 => Refusal::Fault(pool_full()),
            1 => Refusal::SetupError,
            _ => Refusal::Fault(too_many_clients()),
        })
    }

    /// How many calls found no free cursor so far.
    pub(crate) fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }
}

const RPC_FRAMES: &str = "Traceback (most recent call last):\n\
  File \"/opt/odoo/odoo/addons/base/controllers/rpc.py\", line 161, in xmlrpc_2\n\
  File \"/opt/odoo/odoo/addons/base/controllers/rpc.py\", line 139, in _xmlrpc\n\
  File \"/opt/odoo/odoo/http.py\", line 398, in dispatch_rpc\n\
  File \"/opt/odoo/odoo/service/model.py\", line 39, in dispatch\n\
  File \"/opt/odoo/odoo/service/model.py\", line 60, in execute_kw\n\
  File \"/opt/odoo/odoo/modules/registry.py\", line 87, in __new__\n\
  File \"/opt/odoo/odoo/sql_db.py\", line 761, in cursor\n\
  File \"/opt/odoo/odoo/sql_db.py\", line 267, in __init__\n";

/// Odoo's `ConnectionPool.borrow` with every one of `db_maxconn` connections in use.
fn pool_full() -> Fault {
    Fault {
        code: 1,
        string: format!(
            "{RPC_FRAMES}  File \"/opt/odoo/odoo/sql_db.py\", line 667, in borrow\n\
             psycopg2.pool.PoolError: The Connection Pool Is Full\n"
        ),
    }
}

/// psycopg2 connecting to a PostgreSQL that has `max_connections` clients already.
fn too_many_clients() -> Fault {
    Fault {
        code: 1,
        string: format!(
            "{RPC_FRAMES}  File \"/opt/odoo/odoo/sql_db.py\", line 675, in borrow\n  \
             File \"/usr/lib/python3/dist-packages/psycopg2/__init__.py\", line 122, in connect\n\
             psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: \
             FATAL:  sorry, too many clients already\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_refuses_in_turn_with_the_three_odoo_failures() {
        let pool = CursorPool::new(OverloadMode {
            cursors: 2,
            hold: Duration::ZERO,
        });
        let a = pool.borrow().expect("a free cursor");
        let _b = pool.borrow().expect("a free cursor");
        let refusals: Vec<Refusal> = (0..3).filter_map(|_| pool.borrow().err()).collect();
        assert!(matches!(&refusals[0], Refusal::Fault(f) if f.code == 1
            && f.string.ends_with("psycopg2.pool.PoolError: The Connection Pool Is Full\n")));
        assert_eq!(refusals[1], Refusal::SetupError);
        assert!(matches!(&refusals[2], Refusal::Fault(f)
            if f.string.ends_with("FATAL:  sorry, too many clients already\n")));
        drop(a);
        assert!(pool.borrow().is_ok(), "a cursor given back is free again");
        assert_eq!(pool.refusals(), 3);
    }
}
