//! The syntax tree produced by the parser.

use crate::Schedule;

/// One parsed statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `CREATE BACKUP COLLECTION name ( TABLE t, ... ) [WITH ( ... )]`
    CreateBackupCollection(CreateBackupCollection),
    /// `DROP BACKUP COLLECTION name`
    DropBackupCollection {
        /// The collection to drop.
        name: String,
    },
    /// `ALTER BACKUP COLLECTION name <action>`
    AlterBackupCollection {
        /// The collection to change.
        name: String,
        /// What to change.
        action: AlterAction,
    },
    /// `BACKUP name [INCREMENTAL]`
    Backup {
        /// The collection to back up.
        name: String,
        /// True for an incremental backup, false for a full one.
        incremental: bool,
    },
    /// `RESTORE name [AT 'backup-id'] [WITH ( TABLES = '…', TARGET_PREFIX = '…', … )]`
    Restore {
        /// The collection to restore.
        name: String,
        /// The backup to restore; `None` means the latest one.
        at: Option<String>,
        /// What to restore, where, under which names; all empty for a whole restore.
        options: RestoreOptions,
    },
    /// `PRUNE name [DRY RUN]`: removes the backups the collection's retention rules no
    /// longer keep (with `DRY RUN`, only says which).
    Prune {
        /// The collection to prune.
        name: String,
        /// Only list what would go and why the rest stays.
        dry_run: bool,
    },
    /// `COMPACT name [AT 'backup-id']`: merges the chain of an incremental backup (the
    /// latest by default) into a full backup of the same time and contents, which replaces it.
    Compact {
        /// The collection.
        name: String,
        /// The incremental backup whose chain is merged; `None` means the latest backup.
        at: Option<String>,
    },
    /// `SHOW BACKUP COLLECTIONS`: every collection, with its backups' totals.
    ShowBackupCollections,
    /// `SHOW BACKUPS IN name`: a collection's backups, oldest first.
    ShowBackups {
        /// The collection.
        name: String,
    },
    /// `SHOW SCHEDULES`: each scheduled collection's schedule, next run and last run.
    ShowSchedules,
    /// `SHOW OPERATIONS [IN name]`: the operations log (backups, restores, prunes), oldest
    /// first, of one collection or all.
    ShowOperations {
        /// Only this collection's; `None` for every collection's.
        name: Option<String>,
    },
    /// `VERIFY name [AT 'backup-id']`: check every file, chain link and manifest.
    Verify {
        /// The collection to verify.
        name: String,
        /// Only the chain of this backup; `None` means every backup.
        at: Option<String>,
    },
    /// `QUERY [AT 'backup-id'] <select>`: a query over backups (`<collection>.<table>`),
    /// run by DataFusion, not SQLite.
    Query {
        /// See the collection holding this backup as of it (others as of their latest).
        at: Option<String>,
        /// The query, exactly as written.
        sql: String,
    },
    /// Any other statement, handed through untouched: the exact source text
    /// from its first token to its last, without the terminating `;`.
    Sql(String),
}

/// The `WITH ( … )` options of RESTORE: a selective restore.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreOptions {
    /// `TABLES = 'a, b'`: only these tables of the collection.
    pub tables: Option<Vec<String>>,
    /// `TARGET_PREFIX = 'restored_'`: each table (and index) is restored under its name
    /// with this prefix.
    pub target_prefix: Option<String>,
    /// `RENAME = 'a = x, b = y'`: these tables are restored under these names.
    pub rename: Vec<(String, String)>,
    /// `FILTER = 'customer_id = 42'`: only the rows for which this SQL predicate is true.
    pub filter: Option<String>,
    /// `DATABASE = 'other.db'`: restore into this SQLite database file instead.
    pub database: Option<String>,
}

impl RestoreOptions {
    /// True for a whole restore (no option given).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == RestoreOptions::default()
    }
}

/// `CREATE BACKUP COLLECTION name ( TABLE t, ... ) [WITH ( ... )]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBackupCollection {
    /// Name of the new collection.
    pub name: String,
    /// The tables in the collection, in the order written (at least one).
    pub tables: Vec<String>,
    /// The `WITH` settings; all `None` when there is no `WITH` clause.
    pub settings: Settings,
}

/// Collection settings, as given in `WITH ( ... )` or `SET ( ... )`.
///
/// A field is `None` when the setting was not given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// `STORAGE = 'cluster' | 'file://...' | 's3://...'`
    pub storage: Option<Storage>,
    /// `INCREMENTAL_BACKUP_ENABLED = 'true' | 'false'`
    pub incremental_backup_enabled: Option<bool>,
    /// `KEEP_LAST`, `KEEP_HOURLY`, …, `KEEP_WITHIN`: the retention rules given.
    pub keep: KeepRules,
    /// `BACKUP_SCHEDULE = '@hourly'`: when `quiver schedule run` backs the collection up.
    pub backup_schedule: Option<Schedule>,
    /// `FULL_BACKUP_SCHEDULE = '@daily'`: when the scheduled backup is a full one.
    pub full_backup_schedule: Option<Schedule>,
    /// `TIMEZONE = 'Europe/Berlin'`: the zone the schedules are read in (UTC by default), as
    /// written; whether the zone exists is checked where zones are known.
    pub timezone: Option<String>,
    /// `ON_SCHEMA_CHANGE = 'full' | 'refuse'`: what an incremental backup does when a
    /// table's shape changed since the chain's last backup.
    pub on_schema_change: Option<SchemaChangePolicy>,
    /// `COMPACT_AFTER = 'n'`: a scheduled backup that leaves more than n incrementals in its
    /// chain compacts the chain.
    pub compact_after: Option<u32>,
    /// `ENCRYPTION = 'none' | 'aes-256-gcm'`.
    pub encryption: Option<EncryptionAlgorithm>,
    /// `ENCRYPTION_KEY_FILE = '/path/to/key'`: the file that holds the master key.
    pub encryption_key_file: Option<String>,
}

/// `ENCRYPTION`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionAlgorithm {
    /// `'none'`.
    None,
    /// `'aes-256-gcm'`.
    Aes256Gcm,
}

impl EncryptionAlgorithm {
    /// The setting's value: `none` or `aes-256-gcm`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            EncryptionAlgorithm::None => "none",
            EncryptionAlgorithm::Aes256Gcm => "aes-256-gcm",
        }
    }
}

/// What `BACKUP … INCREMENTAL` does when a table's shape changed since the chain's last backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaChangePolicy {
    /// `'full'` (the default): take a full backup instead, starting a new chain.
    Full,
    /// `'refuse'`: refuse the backup, writing nothing.
    Refuse,
}

impl SchemaChangePolicy {
    /// The setting's value: `full` or `refuse`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SchemaChangePolicy::Full => "full",
            SchemaChangePolicy::Refuse => "refuse",
        }
    }
}

impl Settings {
    /// True when no setting is given.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

/// Retention rules, as restic's `forget` has them. A field is `None` when not given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeepRules {
    /// `KEEP_LAST = 'n'`: the newest n backups.
    pub last: Option<u32>,
    /// `KEEP_HOURLY = 'n'`: the newest backup of each of the last n hours that have one.
    pub hourly: Option<u32>,
    /// `KEEP_DAILY = 'n'`: the same per day.
    pub daily: Option<u32>,
    /// `KEEP_WEEKLY = 'n'`: the same per ISO week.
    pub weekly: Option<u32>,
    /// `KEEP_MONTHLY = 'n'`: the same per month.
    pub monthly: Option<u32>,
    /// `KEEP_YEARLY = 'n'`: the same per year.
    pub yearly: Option<u32>,
    /// `KEEP_WITHIN = '30d'`: every backup less than this many hours older than the newest.
    pub within_hours: Option<u64>,
}

/// Where a collection's backups are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// `'cluster'`: inside the database's own storage.
    Cluster,
    /// An external location, a URL starting with `file://` or `s3://`, as written.
    External(String),
}

/// The change made by `ALTER BACKUP COLLECTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterAction {
    /// `ADD TABLE t`
    AddTable(String),
    /// `DROP TABLE t`
    DropTable(String),
    /// `SET ( key = 'value', ... )`: the settings given are changed.
    Set(Settings),
    /// `RESET ( key, ... )`: the settings named go back to their defaults.
    Reset(Vec<SettingKey>),
    /// `PIN 'backup-id'`: no retention rule removes this backup (or what it builds on).
    Pin(String),
    /// `UNPIN 'backup-id'`: retention rules apply to it again.
    Unpin(String),
}

/// The name of a collection setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingKey {
    /// `STORAGE`
    Storage,
    /// `INCREMENTAL_BACKUP_ENABLED`
    IncrementalBackupEnabled,
    /// `KEEP_LAST`
    KeepLast,
    /// `KEEP_HOURLY`
    KeepHourly,
    /// `KEEP_DAILY`
    KeepDaily,
    /// `KEEP_WEEKLY`
    KeepWeekly,
    /// `KEEP_MONTHLY`
    KeepMonthly,
    /// `KEEP_YEARLY`
    KeepYearly,
    /// `KEEP_WITHIN`
    KeepWithin,
    /// `BACKUP_SCHEDULE`
    BackupSchedule,
    /// `FULL_BACKUP_SCHEDULE`
    FullBackupSchedule,
    /// `TIMEZONE`
    Timezone,
    /// `ON_SCHEMA_CHANGE`
    OnSchemaChange,
    /// `COMPACT_AFTER`
    CompactAfter,
    /// `ENCRYPTION`
    Encryption,
    /// `ENCRYPTION_KEY_FILE`
    EncryptionKeyFile,
}

impl SettingKey {
    /// Every setting, in canonical order.
    pub const ALL: [SettingKey; 16] = [
        SettingKey::Storage,
        SettingKey::IncrementalBackupEnabled,
        SettingKey::KeepLast,
        SettingKey::KeepHourly,
        SettingKey::KeepDaily,
        SettingKey::KeepWeekly,
        SettingKey::KeepMonthly,
        SettingKey::KeepYearly,
        SettingKey::KeepWithin,
        SettingKey::BackupSchedule,
        SettingKey::FullBackupSchedule,
        SettingKey::Timezone,
        SettingKey::OnSchemaChange,
        SettingKey::CompactAfter,
        SettingKey::Encryption,
        SettingKey::EncryptionKeyFile,
    ];

    /// The canonical (upper-case) name of the setting.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SettingKey::Storage => "STORAGE",
            SettingKey::IncrementalBackupEnabled => "INCREMENTAL_BACKUP_ENABLED",
            SettingKey::KeepLast => "KEEP_LAST",
            SettingKey::KeepHourly => "KEEP_HOURLY",
            SettingKey::KeepDaily => "KEEP_DAILY",
            SettingKey::KeepWeekly => "KEEP_WEEKLY",
            SettingKey::KeepMonthly => "KEEP_MONTHLY",
            SettingKey::KeepYearly => "KEEP_YEARLY",
            SettingKey::KeepWithin => "KEEP_WITHIN",
            SettingKey::BackupSchedule => "BACKUP_SCHEDULE",
            SettingKey::FullBackupSchedule => "FULL_BACKUP_SCHEDULE",
            SettingKey::Timezone => "TIMEZONE",
            SettingKey::OnSchemaChange => "ON_SCHEMA_CHANGE",
            SettingKey::CompactAfter => "COMPACT_AFTER",
            SettingKey::Encryption => "ENCRYPTION",
            SettingKey::EncryptionKeyFile => "ENCRYPTION_KEY_FILE",
        }
    }

    /// Looks a setting up by name, ignoring ASCII case.
    #[must_use]
    pub fn from_name(name: &str) -> Option<SettingKey> {
        SettingKey::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_key_names() {
        assert_eq!(SettingKey::from_name("storage"), Some(SettingKey::Storage));
        assert_eq!(
            SettingKey::from_name("Incremental_Backup_Enabled"),
            Some(SettingKey::IncrementalBackupEnabled)
        );
        assert_eq!(SettingKey::from_name("storages"), None);
        assert!(Settings::default().is_empty());
        assert!(
            !Settings {
                storage: Some(Storage::Cluster),
                ..Settings::default()
            }
            .is_empty()
        );
    }
}
