//! A virtual table over one Arrow batch at a time: restore inserts a batch's rows with one
//! `INSERT INTO t (…) SELECT … FROM temp.quiver_feed_<n>`, SQLite's own row loop, instead
//! of executing a bound statement per few rows (which reruns the statement's program,
//! rebinds and clears every parameter, and copies every text and blob it binds).
//!
//! Written against SQLite's C interface rather than rusqlite's `vtab` wrapper, for one
//! reason: text and blobs are handed to SQLite without a copy (`SQLITE_STATIC`). That is
//! sound because the cursor holds the batch until SQLite closes it, which happens before
//! the statement's registers are released, and SQLite copies values into the records it
//! writes.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, BinaryArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use rusqlite::ffi;
use rusqlite::types::ValueRef;

use crate::raw;

/// The module's name, registered on the restore's own connection only.
pub(crate) const MODULE: &str = "quiver_feed";

/// One feed column: a typed array and, for a column that has one, its raw side column. A
/// row's value is the typed one where that is valid, else the raw one, else NULL.
pub(crate) struct FeedColumn {
    typed: Typed,
    raw: Option<BinaryArray>,
}

enum Typed {
    Integer(Int64Array),
    Real(Float64Array),
    Text(StringArray),
    Blob(BinaryArray),
}

impl FeedColumn {
    /// The column of `typed` (one of SQLite's four storage types) with its raw side column;
    /// `None` for another type. The raw values must decode (see [`crate::load`]): reading
    /// them then cannot fail.
    pub(crate) fn new(typed: &dyn Array, raw: Option<&dyn Array>) -> Option<FeedColumn> {
        let typed = match typed.data_type() {
            DataType::Int64 => Typed::Integer(typed.as_primitive::<Int64Type>().clone()),
            DataType::Float64 => Typed::Real(typed.as_primitive::<Float64Type>().clone()),
            DataType::Utf8 => Typed::Text(typed.as_string::<i32>().clone()),
            DataType::Binary => Typed::Blob(typed.as_binary::<i32>().clone()),
            _ => return None,
        };
        let raw = match raw {
            Some(raw) => Some(raw.as_binary_opt::<i32>()?.clone()),
            None => None,
        };
        Some(FeedColumn { typed, raw })
    }

    fn value(&self, row: usize) -> ValueRef<'_> {
        let valid = match &self.typed {
            Typed::Integer(a) => a.is_valid(row).then(|| ValueRef::Integer(a.value(row))),
            Typed::Real(a) => a.is_valid(row).then(|| ValueRef::Real(a.value(row))),
            Typed::Text(a) => a
                .is_valid(row)
                .then(|| ValueRef::Text(a.value(row).as_bytes())),
            Typed::Blob(a) => a.is_valid(row).then(|| ValueRef::Blob(a.value(row))),
        };
        valid
            .or_else(|| {
                let raw = self.raw.as_ref()?;
                raw.is_valid(row)
                    .then(|| quiver_catalog::decode_raw(raw.value(row)).map(raw::to_sqlite))?
            })
            .unwrap_or(ValueRef::Null)
    }
}

/// The rows the next `INSERT … SELECT` reads: `rows` rows of `columns`.
pub(crate) struct FeedBatch {
    pub(crate) columns: Vec<FeedColumn>,
    pub(crate) rows: usize,
}

/// The batch the next `INSERT … SELECT` reads, shared by the connection's feed tables.
pub(crate) type Slot = Arc<Mutex<Option<Arc<FeedBatch>>>>;

/// What a feed table or cursor reads from `slot`.
fn current(slot: &Slot) -> Option<Arc<FeedBatch>> {
    // The slot holds no invariant a panic elsewhere could break: read it regardless.
    slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Registers the module on `conn`, its tables reading from `slot`.
pub(crate) fn register(conn: &rusqlite::Connection, slot: Slot) -> rusqlite::Result<()> {
    let name = CString::new(MODULE).expect("no NUL in the module name");
    let aux = Box::into_raw(Box::new(slot)).cast::<c_void>();
    // SAFETY: the module is 'static; SQLite owns `aux` from here and frees it through
    // `drop_slot` (also when registration fails).
    let rc = unsafe {
        ffi::sqlite3_create_module_v2(conn.handle(), name.as_ptr(), module(), aux, Some(drop_slot))
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

fn module() -> &'static ffi::sqlite3_module {
    static MODULE: std::sync::OnceLock<ffi::sqlite3_module> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        // SAFETY: every field is an integer or an optional function pointer; zero is
        // "absent", which SQLite accepts for all but those set below.
        let mut module: ffi::sqlite3_module = unsafe { std::mem::zeroed() };
        module.iVersion = 1;
        module.xCreate = Some(create);
        module.xConnect = Some(create);
        module.xBestIndex = Some(best_index);
        module.xDisconnect = Some(disconnect);
        module.xDestroy = Some(disconnect);
        module.xOpen = Some(open);
        module.xClose = Some(close);
        module.xFilter = Some(filter);
        module.xNext = Some(next);
        module.xEof = Some(eof);
        module.xColumn = Some(column);
        module.xRowid = Some(rowid);
        module
    })
}

unsafe extern "C" fn drop_slot(aux: *mut c_void) {
    // SAFETY: `aux` is the box `register` leaked.
    drop(unsafe { Box::from_raw(aux.cast::<Slot>()) });
}

/// A feed table: `CREATE VIRTUAL TABLE temp.x USING quiver_feed(<n>)` has columns `c0`…
#[repr(C)]
struct FeedTable {
    /// Base class; must be first.
    base: ffi::sqlite3_vtab,
    slot: Slot,
}

#[repr(C)]
struct FeedCursor {
    /// Base class; must be first.
    base: ffi::sqlite3_vtab_cursor,
    slot: Slot,
    /// The batch taken from the slot when the scan began, held until SQLite closes the
    /// cursor: the text and blobs handed to SQLite point into it.
    feed: Option<Arc<FeedBatch>>,
    row: usize,
}

/// The column count given to `CREATE VIRTUAL TABLE … USING quiver_feed(<n>)`.
fn column_count(argc: c_int, argv: *const *const c_char) -> Option<usize> {
    // argv: module, database, table, then ours.
    if argc != 4 || argv.is_null() {
        return None;
    }
    // SAFETY: SQLite passes argc NUL-terminated strings.
    let arg = unsafe { *argv.add(3) };
    if arg.is_null() {
        return None;
    }
    let text = unsafe { CStr::from_ptr(arg) }.to_str().ok()?;
    text.trim().parse().ok().filter(|&n| n > 0)
}

unsafe extern "C" fn create(
    db: *mut ffi::sqlite3,
    aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    table: *mut *mut ffi::sqlite3_vtab,
    _error: *mut *mut c_char,
) -> c_int {
    let Some(columns) = column_count(argc, argv) else {
        return ffi::SQLITE_ERROR;
    };
    let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let Ok(schema) = CString::new(format!("CREATE TABLE x({})", names.join(", "))) else {
        return ffi::SQLITE_ERROR;
    };
    // SAFETY: `db` is the connection creating the table; `aux` is the registered slot.
    let rc = unsafe { ffi::sqlite3_declare_vtab(db, schema.as_ptr()) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let slot = unsafe { &*aux.cast::<Slot>() };
    let feed = Box::new(FeedTable {
        // SAFETY: SQLite fills in the base; zero is its documented starting state.
        base: unsafe { std::mem::zeroed() },
        slot: Arc::clone(slot),
    });
    unsafe { *table = Box::into_raw(feed).cast() };
    ffi::SQLITE_OK
}

unsafe extern "C" fn best_index(
    _table: *mut ffi::sqlite3_vtab,
    info: *mut ffi::sqlite3_index_info,
) -> c_int {
    // A full scan is the only plan: the statement has no WHERE.
    unsafe { (*info).estimatedCost = 1.0 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn disconnect(table: *mut ffi::sqlite3_vtab) -> c_int {
    // SAFETY: `table` is the box `create` leaked.
    drop(unsafe { Box::from_raw(table.cast::<FeedTable>()) });
    ffi::SQLITE_OK
}

unsafe extern "C" fn open(
    table: *mut ffi::sqlite3_vtab,
    cursor: *mut *mut ffi::sqlite3_vtab_cursor,
) -> c_int {
    let table = unsafe { &*table.cast::<FeedTable>() };
    let opened = Box::new(FeedCursor {
        base: unsafe { std::mem::zeroed() },
        slot: Arc::clone(&table.slot),
        feed: None,
        row: 0,
    });
    unsafe { *cursor = Box::into_raw(opened).cast() };
    ffi::SQLITE_OK
}

unsafe extern "C" fn close(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cursor` is the box `open` leaked.
    drop(unsafe { Box::from_raw(cursor.cast::<FeedCursor>()) });
    ffi::SQLITE_OK
}

unsafe extern "C" fn filter(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    _index: c_int,
    _index_name: *const c_char,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) -> c_int {
    let cursor = unsafe { &mut *cursor.cast::<FeedCursor>() };
    cursor.feed = current(&cursor.slot);
    cursor.row = 0;
    ffi::SQLITE_OK
}

unsafe extern "C" fn next(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    unsafe { (*cursor.cast::<FeedCursor>()).row += 1 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn eof(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let cursor = unsafe { &*cursor.cast::<FeedCursor>() };
    c_int::from(cursor.feed.as_ref().is_none_or(|f| cursor.row >= f.rows))
}

unsafe extern "C" fn column(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    ctx: *mut ffi::sqlite3_context,
    i: c_int,
) -> c_int {
    let cursor = unsafe { &*cursor.cast::<FeedCursor>() };
    let Some(column) = cursor
        .feed
        .as_ref()
        .filter(|f| cursor.row < f.rows)
        .zip(usize::try_from(i).ok())
        .and_then(|(f, i)| f.columns.get(i))
    else {
        return ffi::SQLITE_ERROR;
    };
    // SAFETY: `ctx` is this call's result; the bytes live in the batch the cursor holds
    // until SQLite closes it (see the module's comment), and Arrow's i32 offsets keep
    // every length within c_int.
    unsafe {
        match column.value(cursor.row) {
            ValueRef::Null => ffi::sqlite3_result_null(ctx),
            ValueRef::Integer(v) => ffi::sqlite3_result_int64(ctx, v),
            ValueRef::Real(v) => ffi::sqlite3_result_double(ctx, v),
            ValueRef::Text(t) => ffi::sqlite3_result_text(
                ctx,
                t.as_ptr().cast(),
                t.len() as c_int,
                ffi::SQLITE_STATIC(),
            ),
            ValueRef::Blob(b) => ffi::sqlite3_result_blob(
                ctx,
                b.as_ptr().cast(),
                b.len() as c_int,
                ffi::SQLITE_STATIC(),
            ),
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn rowid(cursor: *mut ffi::sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    let cursor = unsafe { &*cursor.cast::<FeedCursor>() };
    unsafe { *rowid = cursor.row as i64 };
    ffi::SQLITE_OK
}
