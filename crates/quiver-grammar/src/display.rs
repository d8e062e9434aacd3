//! Canonical SQL rendering of the syntax tree, and quoting helpers.

use std::fmt::{self, Display, Formatter};

use crate::ast::{
    AlterAction, CreateBackupCollection, RestoreOptions, SettingKey, Settings, Statement, Storage,
};
use crate::lexer::is_plain_ident;

/// The words of the backup grammar; identifiers equal to one of them
/// (ignoring ASCII case) are back-quoted when printed.
pub(crate) const KEYWORDS: &[&str] = &[
    "ADD",
    "ALTER",
    "AT",
    "BACKUP",
    "COLLECTION",
    "CREATE",
    "DROP",
    "INCREMENTAL",
    "INCREMENTAL_BACKUP_ENABLED",
    "RESET",
    "RESTORE",
    "SET",
    "STORAGE",
    "TABLE",
    "WITH",
];

/// Quotes an identifier for printing: as is when it is a plain identifier
/// that is not a keyword of the backup grammar, otherwise in backquotes with
/// inner backquotes doubled.
///
/// ```
/// use quiver_grammar::quote_ident;
/// assert_eq!(quote_ident("orders"), "orders");
/// assert_eq!(quote_ident("/Root/orders"), "`/Root/orders`");
/// assert_eq!(quote_ident("table"), "`table`");
/// assert_eq!(quote_ident("a`b"), "`a``b`");
/// ```
#[must_use]
pub fn quote_ident(name: &str) -> String {
    let keyword = KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
    if is_plain_ident(name) && !keyword {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// Quotes a string literal, doubling inner `'`.
pub(crate) fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Display for RestoreOptions {
    /// The options as `KEY = 'value', …` (without the parentheses).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(tables) = &self.tables {
            parts.push(format!("TABLES = {}", quote_string(&tables.join(", "))));
        }
        if let Some(prefix) = &self.target_prefix {
            parts.push(format!("TARGET_PREFIX = {}", quote_string(prefix)));
        }
        if !self.rename.is_empty() {
            let pairs: Vec<String> = self
                .rename
                .iter()
                .map(|(a, b)| format!("{a} = {b}"))
                .collect();
            parts.push(format!("RENAME = {}", quote_string(&pairs.join(", "))));
        }
        if let Some(filter) = &self.filter {
            parts.push(format!("FILTER = {}", quote_string(filter)));
        }
        if let Some(database) = &self.database {
            parts.push(format!("DATABASE = {}", quote_string(database)));
        }
        f.write_str(&parts.join(", "))
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateBackupCollection(c) => c.fmt(f),
            Statement::DropBackupCollection { name } => {
                write!(f, "DROP BACKUP COLLECTION {}", quote_ident(name))
            }
            Statement::AlterBackupCollection { name, action } => {
                write!(f, "ALTER BACKUP COLLECTION {} {action}", quote_ident(name))
            }
            Statement::Backup { name, incremental } => {
                write!(f, "BACKUP {}", quote_ident(name))?;
                if *incremental {
                    f.write_str(" INCREMENTAL")?;
                }
                Ok(())
            }
            Statement::Restore { name, at, options } => {
                write!(f, "RESTORE {}", quote_ident(name))?;
                if let Some(at) = at {
                    write!(f, " AT {}", quote_string(at))?;
                }
                if !options.is_empty() {
                    write!(f, " WITH ( {options} )")?;
                }
                Ok(())
            }
            Statement::Prune { name, dry_run } => {
                write!(f, "PRUNE {}", quote_ident(name))?;
                if *dry_run {
                    f.write_str(" DRY RUN")?;
                }
                Ok(())
            }
            Statement::ShowBackupCollections => f.write_str("SHOW BACKUP COLLECTIONS"),
            Statement::ShowBackups { name } => write!(f, "SHOW BACKUPS IN {}", quote_ident(name)),
            Statement::Compact { name, at } => {
                write!(f, "COMPACT {}", quote_ident(name))?;
                if let Some(at) = at {
                    write!(f, " AT {}", quote_string(at))?;
                }
                Ok(())
            }
            Statement::ShowSchedules => f.write_str("SHOW SCHEDULES"),
            Statement::ShowOperations { name: None } => f.write_str("SHOW OPERATIONS"),
            Statement::ShowOperations { name: Some(name) } => {
                write!(f, "SHOW OPERATIONS IN {}", quote_ident(name))
            }
            Statement::Verify { name, at } => {
                write!(f, "VERIFY {}", quote_ident(name))?;
                if let Some(at) = at {
                    write!(f, " AT {}", quote_string(at))?;
                }
                Ok(())
            }
            Statement::Query { at, sql } => {
                f.write_str("QUERY ")?;
                if let Some(at) = at {
                    write!(f, "AT {} ", quote_string(at))?;
                }
                f.write_str(sql)
            }
            Statement::Sql(text) => f.write_str(text),
        }
    }
}

impl Display for CreateBackupCollection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE BACKUP COLLECTION {} (", quote_ident(&self.name))?;
        for (i, table) in self.tables.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}TABLE {}", quote_ident(table))?;
        }
        f.write_str(")")?;
        if !self.settings.is_empty() {
            write!(f, " WITH ({})", self.settings)?;
        }
        Ok(())
    }
}

/// Prints the settings that are set, comma-separated, without parentheses:
/// `STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true'`.
impl Display for Settings {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(storage) = &self.storage {
            write!(f, "{} = {storage}", SettingKey::Storage)?;
            sep = ", ";
        }
        if let Some(enabled) = self.incremental_backup_enabled {
            write!(
                f,
                "{sep}{} = '{enabled}'",
                SettingKey::IncrementalBackupEnabled
            )?;
            sep = ", ";
        }
        let keep = &self.keep;
        for (key, count) in [
            (SettingKey::KeepLast, keep.last),
            (SettingKey::KeepHourly, keep.hourly),
            (SettingKey::KeepDaily, keep.daily),
            (SettingKey::KeepWeekly, keep.weekly),
            (SettingKey::KeepMonthly, keep.monthly),
            (SettingKey::KeepYearly, keep.yearly),
        ] {
            if let Some(count) = count {
                write!(f, "{sep}{key} = '{count}'")?;
                sep = ", ";
            }
        }
        if let Some(hours) = keep.within_hours {
            write!(
                f,
                "{sep}{} = '{}'",
                SettingKey::KeepWithin,
                within_text(hours)
            )?;
            sep = ", ";
        }
        for (key, schedule) in [
            (SettingKey::BackupSchedule, &self.backup_schedule),
            (SettingKey::FullBackupSchedule, &self.full_backup_schedule),
        ] {
            if let Some(schedule) = schedule {
                write!(f, "{sep}{key} = '{schedule}'")?;
                sep = ", ";
            }
        }
        if let Some(zone) = &self.timezone {
            write!(f, "{sep}{} = {}", SettingKey::Timezone, quote_string(zone))?;
            sep = ", ";
        }
        if let Some(policy) = self.on_schema_change {
            write!(
                f,
                "{sep}{} = '{}'",
                SettingKey::OnSchemaChange,
                policy.as_str()
            )?;
            sep = ", ";
        }
        if let Some(n) = self.compact_after {
            write!(f, "{sep}{} = '{n}'", SettingKey::CompactAfter)?;
            sep = ", ";
        }
        if let Some(algorithm) = self.encryption {
            write!(
                f,
                "{sep}{} = '{}'",
                SettingKey::Encryption,
                algorithm.as_str()
            )?;
            sep = ", ";
        }
        if let Some(path) = &self.encryption_key_file {
            write!(
                f,
                "{sep}{} = {}",
                SettingKey::EncryptionKeyFile,
                quote_string(path)
            )?;
        }
        Ok(())
    }
}

/// `hours` as [`crate::parse_within`] reads it, in the largest whole unit: `2w`, `30d`, `12h`.
pub fn within_text(hours: u64) -> String {
    if hours.is_multiple_of(24 * 7) {
        format!("{}w", hours / (24 * 7))
    } else if hours.is_multiple_of(24) {
        format!("{}d", hours / 24)
    } else {
        format!("{hours}h")
    }
}

/// Prints the setting value as a string literal: `'cluster'` or `'s3://...'`.
impl Display for Storage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Storage::Cluster => f.write_str("'cluster'"),
            Storage::External(url) => f.write_str(&quote_string(url)),
        }
    }
}

impl Display for AlterAction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AlterAction::AddTable(t) => write!(f, "ADD TABLE {}", quote_ident(t)),
            AlterAction::DropTable(t) => write!(f, "DROP TABLE {}", quote_ident(t)),
            AlterAction::Set(settings) => write!(f, "SET ({settings})"),
            AlterAction::Reset(keys) => {
                f.write_str("RESET (")?;
                for (i, key) in keys.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{key}")?;
                }
                f.write_str(")")
            }
            AlterAction::Pin(id) => write!(f, "PIN {}", quote_string(id)),
            AlterAction::Unpin(id) => write!(f, "UNPIN {}", quote_string(id)),
        }
    }
}

impl Display for SettingKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_canonical_sql() {
        let create = Statement::CreateBackupCollection(CreateBackupCollection {
            name: "orders".into(),
            tables: vec!["a".into(), "/Root/b".into()],
            settings: Settings {
                storage: Some(Storage::Cluster),
                incremental_backup_enabled: Some(true),
                ..Settings::default()
            },
        });
        assert_eq!(
            create.to_string(),
            "CREATE BACKUP COLLECTION orders (TABLE a, TABLE `/Root/b`) \
             WITH (STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true')"
        );
        let bare = Statement::CreateBackupCollection(CreateBackupCollection {
            name: "Table".into(),
            tables: vec!["x".into()],
            settings: Settings::default(),
        });
        assert_eq!(
            bare.to_string(),
            "CREATE BACKUP COLLECTION `Table` (TABLE x)"
        );
        let only_inc = Settings {
            storage: None,
            incremental_backup_enabled: Some(false),
            ..Settings::default()
        };
        assert_eq!(only_inc.to_string(), "INCREMENTAL_BACKUP_ENABLED = 'false'");
        let cases = [
            (
                Statement::Backup {
                    name: "x".into(),
                    incremental: true,
                },
                "BACKUP x INCREMENTAL",
            ),
            (
                Statement::Backup {
                    name: "incremental".into(),
                    incremental: false,
                },
                "BACKUP `incremental`",
            ),
            (
                Statement::Restore {
                    name: "x".into(),
                    at: Some("it's".into()),
                    options: RestoreOptions {
                        tables: Some(vec!["a".into(), "b c".into()]),
                        target_prefix: Some("r_".into()),
                        rename: vec![("a".into(), "x".into())],
                        filter: Some("name = 'it''s'".into()),
                        database: Some("o.db".into()),
                    },
                },
                "RESTORE x AT 'it''s' WITH ( TABLES = 'a, b c', TARGET_PREFIX = 'r_', RENAME = 'a = x', FILTER = 'name = ''it''''s''', DATABASE = 'o.db' )",
            ),
            (
                Statement::Restore {
                    name: "x".into(),
                    at: None,
                    options: RestoreOptions::default(),
                },
                "RESTORE x",
            ),
            (
                Statement::DropBackupCollection { name: "a`b".into() },
                "DROP BACKUP COLLECTION `a``b`",
            ),
            (
                Statement::AlterBackupCollection {
                    name: "x".into(),
                    action: AlterAction::Reset(SettingKey::ALL.to_vec()),
                },
                "ALTER BACKUP COLLECTION x RESET (STORAGE, INCREMENTAL_BACKUP_ENABLED, KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY, KEEP_WITHIN, BACKUP_SCHEDULE, FULL_BACKUP_SCHEDULE, TIMEZONE, ON_SCHEMA_CHANGE, COMPACT_AFTER, ENCRYPTION, ENCRYPTION_KEY_FILE)",
            ),
            (
                Statement::AlterBackupCollection {
                    name: "x".into(),
                    action: AlterAction::Set(Settings {
                        storage: Some(Storage::External("s3://b/it's".into())),
                        incremental_backup_enabled: None,
                        ..Settings::default()
                    }),
                },
                "ALTER BACKUP COLLECTION x SET (STORAGE = 's3://b/it''s')",
            ),
            (
                Statement::AlterBackupCollection {
                    name: "x".into(),
                    action: AlterAction::AddTable("t".into()),
                },
                "ALTER BACKUP COLLECTION x ADD TABLE t",
            ),
            (
                Statement::AlterBackupCollection {
                    name: "x".into(),
                    action: AlterAction::DropTable("日本".into()),
                },
                "ALTER BACKUP COLLECTION x DROP TABLE 日本",
            ),
            (Statement::Sql("select 1 -- hi".into()), "select 1 -- hi"),
        ];
        for (stmt, text) in cases {
            assert_eq!(stmt.to_string(), text);
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident(""), "``");
        assert_eq!(quote_ident("with"), "`with`");
        assert_eq!(quote_ident("Storage"), "`Storage`");
        assert_eq!(quote_ident("select"), "select");
        assert_eq!(quote_ident("1x"), "`1x`");
        assert_eq!(quote_ident("ünï"), "ünï");
        assert_eq!(quote_string("a'b"), "'a''b'");
    }
}
