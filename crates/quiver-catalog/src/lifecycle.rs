//! The settings of a collection's unattended life: its schedules and what an incremental
//! backup does when a table's shape changed.

use serde::{Deserialize, Serialize};

/// When `quiver schedule run` backs a collection up. The schedules are kept as their
/// canonical text (`'0 * * * *'`, `'every 15m'`) and parsed where they are used: a
/// definition is read from disk, and one that does not parse stops only its collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSettings {
    /// `BACKUP_SCHEDULE`: when to back up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// `FULL_BACKUP_SCHEDULE`: when the backup is a full one; `None` derives it from `backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// `TIMEZONE`: the zone the schedules are read in; `None` is UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl ScheduleSettings {
    /// True when nothing is set (the definition's JSON then has no `schedule`).
    pub fn is_unset(&self) -> bool {
        *self == ScheduleSettings::default()
    }

    /// True when the collection has a schedule for `quiver schedule run` to follow.
    pub fn is_scheduled(&self) -> bool {
        self.backup.is_some() || self.full.is_some()
    }
}

/// What `BACKUP … INCREMENTAL` does when a table's shape changed since the chain's last backup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangePolicy {
    /// Take a full backup instead, starting a new chain, and say why.
    #[default]
    Full,
    /// Refuse, writing nothing.
    Refuse,
}

impl SchemaChangePolicy {
    /// True for the default (the definition's JSON then has no `on_schema_change`).
    pub fn is_default(&self) -> bool {
        *self == SchemaChangePolicy::default()
    }
}
