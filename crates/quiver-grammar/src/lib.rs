//! Lexer and recursive-descent parser for quiver's backup-collection
//! statements (syntax from YDB). Any other statement is handed through
//! untouched as plain SQL, cut out of the script with SQLite's rules for
//! strings, quoted identifiers, comments and trigger bodies.
//!
//! Statements understood (keywords are case-insensitive):
//!
//! ```sql
//! CREATE BACKUP COLLECTION name ( TABLE t [, TABLE t ...] )
//!     [WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' )];
//! DROP BACKUP COLLECTION name;
//! ALTER BACKUP COLLECTION name ADD TABLE t | DROP TABLE t
//!     | SET ( key = 'value', ... ) | RESET ( key, ... ) | PIN 'backup-id' | UNPIN 'backup-id';
//! BACKUP name [INCREMENTAL];
//! RESTORE name [AT 'backup-id'];
//! PRUNE name [DRY RUN];
//! ```
//!
//! # Example
//!
//! ```
//! use quiver_grammar::{parse_script, CreateBackupCollection, Settings, Statement, Storage};
//!
//! let stmts = parse_script(
//!     "CREATE BACKUP COLLECTION `shop_backups`
//!          ( TABLE `/Root/shop/orders`, TABLE `/Root/shop/products` )
//!      WITH ( STORAGE = 'cluster' );
//!      SELECT count(*) FROM orders;",
//! )?;
//! let expected = Statement::CreateBackupCollection(CreateBackupCollection {
//!     name: "shop_backups".into(),
//!     tables: vec!["/Root/shop/orders".into(), "/Root/shop/products".into()],
//!     settings: Settings { storage: Some(Storage::Cluster), ..Settings::default() },
//! });
//! assert_eq!(stmts[0].node, expected);
//! assert_eq!(
//!     expected.to_string(),
//!     "CREATE BACKUP COLLECTION shop_backups \
//!      (TABLE `/Root/shop/orders`, TABLE `/Root/shop/products`) WITH (STORAGE = 'cluster')"
//! );
//! assert_eq!(stmts[1].node, Statement::Sql("SELECT count(*) FROM orders".into()));
//!
//! let err = parse_script("CREATE BACKUP COLLECTION c ( TABEL t )").unwrap_err();
//! assert_eq!(err.to_string(), "line 1, column 30: expected `TABLE`, found `TABEL`");
//! println!("{}", err.render());
//! # Ok::<(), quiver_grammar::ParseError>(())
//! ```

#![warn(missing_docs)]

mod ast;
mod display;
mod error;
mod lexer;
mod parser;
mod schedule;
mod script;
mod span;

pub use ast::{
    AlterAction, CreateBackupCollection, EncryptionAlgorithm, KeepRules, RestoreOptions,
    SchemaChangePolicy, SettingKey, Settings, Statement, Storage,
};
pub use display::{quote_ident, within_text};
pub use error::{ParseError, Result};
pub use parser::{MAX_WITHIN_HOURS, parse_within};
pub use schedule::{CronFields, Schedule, parse_schedule};
pub use script::{is_complete, parse_script, parse_statement};
pub use span::{Located, Span};
