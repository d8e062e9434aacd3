//! What the PostgreSQL adapter records of a table, in the manifest's adapter part: enough
//! to rebuild it exactly from quiver's own DDL, with every name kept apart from every
//! expression, so that names are quoted here and only expressions need checking.

use serde::{Deserialize, Serialize};

/// A table as the PostgreSQL catalogs described it at backup time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgTable {
    /// `server_version_num` of the server it came from.
    pub server_version: u32,
    /// Its schema.
    pub schema: String,
    /// Its name within the schema.
    pub name: String,
    /// Every column, in table order; generated columns are not stored, but recomputed.
    pub columns: Vec<PgColumn>,
    /// Primary key, unique, check and exclusion constraints, created with the table.
    pub constraints: Vec<PgConstraint>,
    /// Foreign keys, added once every restored table is loaded.
    pub foreign_keys: Vec<PgForeignKey>,
    /// Indexes that back no constraint, built after the data.
    pub indexes: Vec<PgIndex>,
    /// Triggers, created after the data (so that they do not fire on it).
    pub triggers: Vec<PgTrigger>,
    /// Sequences the table owns through `serial` columns, with their positions.
    pub sequences: Vec<PgSequence>,
    /// Positions of identity columns' sequences.
    pub identities: Vec<PgIdentity>,
    /// Enum types the columns use, created if the target lacks them.
    pub enums: Vec<PgEnum>,
    /// Row-level security, and what of the table's access rules the restore does not
    /// rebuild (it says so). Absent from manifests written before it was recorded.
    #[serde(default)]
    pub access: PgAccess,
}

/// A table's row-level security and access rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgAccess {
    /// `ENABLE ROW LEVEL SECURITY`.
    pub row_security: bool,
    /// `FORCE ROW LEVEL SECURITY` (the owner too is subject to policies).
    pub force_row_security: bool,
    /// Names of its row-level security policies (not rebuilt: the restore warns).
    pub policies: Vec<String>,
    /// Whether privileges were granted on it (not rebuilt: the restore warns).
    pub granted: bool,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgColumn {
    /// Its name.
    pub name: String,
    /// Its type as `format_type` writes it (`numeric(10,2)`, `public.mood[]`).
    pub type_name: String,
    /// How its values travel in data files.
    pub form: Form,
    /// NOT NULL.
    pub not_null: bool,
    /// Its collation, when not its type's default: (schema, name).
    pub collation: Option<(String, String)>,
    /// Its default expression (`pg_get_expr`), unless it is a serial's `nextval`.
    pub default: Option<String>,
    /// The position in [`PgTable::sequences`] of the sequence whose `nextval` is its default.
    pub serial: Option<usize>,
    /// `GENERATED ALWAYS` (`a`) or `BY DEFAULT` (`d`) identity, with the sequence's options.
    pub identity: Option<PgIdentityKind>,
    /// The expression of a stored generated column (not stored in data files).
    pub generated: Option<String>,
}

/// How a column's values are stored in data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// int2, int4 or int8, as a 64-bit integer; `bytes` is the width on the server.
    Integer {
        /// 2, 4 or 8.
        bytes: u8,
    },
    /// float4 or float8, as a 64-bit float (exact for both).
    Float {
        /// 4 or 8.
        bytes: u8,
    },
    /// text or varchar, as UTF-8 text.
    Text,
    /// bytea, as bytes.
    Bytes,
    /// boolean.
    Bool,
    /// date, as days since 1970 (±infinity as the extremes, see [`ColumnType::Date`]).
    ///
    /// [`ColumnType::Date`]: quiver_catalog::ColumnType::Date
    Date,
    /// timestamp without time zone, in microseconds since 1970.
    Timestamp,
    /// timestamp with time zone, in microseconds since 1970 UTC.
    TimestampTz,
    /// time without time zone, in microseconds since midnight.
    Time,
    /// numeric(p, s) with 1 <= p <= 38 and 0 <= s <= p, as Decimal256(p, s); read and
    /// written as text (`NaN`, which numeric(p, s) may hold, in the raw side column).
    Decimal {
        /// p.
        precision: u8,
        /// s.
        scale: u8,
    },
    /// Any other type, as its text form (the type's output function under quiver's
    /// session settings), cast back by the type's input on restore.
    TextForm,
    /// Not stored: a generated column.
    Generated,
}

/// Identity column options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgIdentityKind {
    /// `ALWAYS` rather than `BY DEFAULT`.
    pub always: bool,
    /// Its sequence's options.
    pub options: SequenceOptions,
}

/// A constraint created with the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgConstraint {
    /// Its name.
    pub name: String,
    /// `p`, `u`, `c` or `x` (pg_constraint.contype).
    pub kind: char,
    /// `pg_get_constraintdef`: `PRIMARY KEY (id)`, `CHECK ((qty > 0))`, ...
    pub definition: String,
}

impl PgConstraint {
    /// Whether a restore adds it once the rows are in, as pg_dump does: primary keys and
    /// unique constraints are indexes, built far faster at once than row by row. Checks
    /// (and exclusions) come with the table, so that they judge every row.
    pub fn added_after_load(&self) -> bool {
        matches!(self.kind, 'p' | 'u')
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgForeignKey {
    /// Its name.
    pub name: String,
    /// The referring columns.
    pub columns: Vec<String>,
    /// The table referred to: its schema and name.
    pub parent_schema: String,
    /// The table referred to.
    pub parent: String,
    /// The columns referred to.
    pub parent_columns: Vec<String>,
    /// What follows the column list: `ON DELETE CASCADE`, `MATCH FULL`, `DEFERRABLE`...
    /// (from `pg_get_constraintdef`).
    pub actions: String,
}

/// An index that backs no constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgIndex {
    /// Its name.
    pub name: String,
    /// UNIQUE.
    pub unique: bool,
    /// What `pg_get_indexdef` writes after the table: `USING btree (lower(email)) WHERE ...`.
    pub definition: String,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgTrigger {
    /// Its name.
    pub name: String,
    /// A constraint trigger.
    pub constraint: bool,
    /// What `pg_get_triggerdef` writes between the name and `ON table`: `AFTER INSERT`.
    pub timing: String,
    /// What it writes after the table: `FOR EACH ROW EXECUTE FUNCTION audit()`.
    pub body: String,
    /// Disabled (`tgenabled = 'D'`).
    pub disabled: bool,
}

/// A sequence owned by a `serial` column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgSequence {
    /// Its name (in the table's schema).
    pub name: String,
    /// The column that owns it.
    pub column: String,
    /// Its options.
    pub options: SequenceOptions,
    /// Its position: `last_value` and `is_called`.
    pub last_value: i64,
    /// Whether `last_value` was handed out.
    pub is_called: bool,
}

/// An identity column's sequence position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgIdentity {
    /// The column.
    pub column: String,
    /// `last_value`.
    pub last_value: i64,
    /// `is_called`.
    pub is_called: bool,
}

/// A sequence's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// START.
    pub start: i64,
    /// INCREMENT.
    pub increment: i64,
    /// MINVALUE.
    pub min: i64,
    /// MAXVALUE.
    pub max: i64,
    /// CACHE.
    pub cache: i64,
    /// CYCLE.
    pub cycle: bool,
}

/// An enum type a column uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgEnum {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its labels, in order.
    pub labels: Vec<String>,
}

impl Form {
    /// The neutral storage type of a column of this form.
    pub fn column_type(self) -> quiver_catalog::ColumnType {
        use quiver_catalog::ColumnType;
        match self {
            Form::Integer { .. } => ColumnType::Integer,
            Form::Float { .. } => ColumnType::Real,
            Form::Bytes => ColumnType::Blob,
            Form::Text | Form::TextForm | Form::Generated => ColumnType::Text,
            Form::Bool => ColumnType::Boolean,
            Form::Date => ColumnType::Date,
            Form::Timestamp => ColumnType::Timestamp,
            Form::TimestampTz => ColumnType::TimestampTz,
            Form::Time => ColumnType::Time,
            Form::Decimal { precision, scale } => ColumnType::Decimal { precision, scale },
        }
    }

    /// Whether the column has a raw side column ([`quiver_catalog::raw_column_name`]) for
    /// the values its Arrow type cannot hold: timestamps of the 29 years at the end of
    /// PostgreSQL's range (Arrow's microseconds since 1970 end in 294246) and the time
    /// `24:00:00` (Arrow's times end before midnight), as the server's own integer; a
    /// numeric's `NaN`, as text.
    pub fn has_raw(self) -> bool {
        matches!(
            self,
            Form::Timestamp | Form::TimestampTz | Form::Time | Form::Decimal { .. }
        )
    }

    /// Whether a column of type `type_name` (as `format_type` writes it) travels in this
    /// form: a description that says otherwise is refused, since the value's bytes would be
    /// read as another type's.
    pub fn fits_type(self, type_name: &str) -> bool {
        let timestamp =
            |zone: &str| type_name.starts_with("timestamp") && type_name.ends_with(zone);
        match self {
            Form::Integer { bytes: 2 } => type_name == "smallint",
            Form::Integer { bytes: 4 } => type_name == "integer",
            Form::Integer { bytes: 8 } => type_name == "bigint",
            Form::Float { bytes: 4 } => type_name == "real",
            Form::Float { bytes: 8 } => type_name == "double precision",
            Form::Integer { .. } | Form::Float { .. } => false,
            Form::Text => {
                type_name == "text"
                    || type_name == "bpchar"
                    || type_name.starts_with("character varying")
                    || type_name.starts_with("character")
            }
            Form::Bytes => type_name == "bytea",
            Form::Bool => type_name == "boolean",
            Form::Date => type_name == "date",
            Form::Timestamp => timestamp(" without time zone"),
            Form::TimestampTz => timestamp(" with time zone"),
            Form::Time => {
                type_name.starts_with("time")
                    && !type_name.starts_with("timestamp")
                    && type_name.ends_with(" without time zone")
            }
            Form::Decimal { precision, scale } => {
                crate::decimal::numeric_typmod(type_name) == Some((precision, scale))
            }
            Form::TextForm | Form::Generated => true,
        }
    }
}

impl PgTable {
    /// The name quiver shows for it: `name` in `public`, else `schema.name`.
    pub fn display_name(&self) -> String {
        display_name(&self.schema, &self.name)
    }

    /// `"schema"."name"`.
    pub fn qualified(&self) -> String {
        qualified(&self.schema, &self.name)
    }

    /// The stored columns, in data file order.
    pub fn stored_columns(&self) -> impl Iterator<Item = &PgColumn> {
        self.columns.iter().filter(|c| c.form != Form::Generated)
    }
}

/// The table's name in a collection: `name` in `public`, else `schema.name`; a part
/// holding a `.` or a `"` is double-quoted (`"a.b"`, `sales."x.y"`), so that
/// [`split_name`] reads every name back to the one table it names.
pub fn display_name(schema: &str, name: &str) -> String {
    let part = |x: &str| {
        if x.contains('.') || x.contains('"') || x.is_empty() {
            quote_ident(x)
        } else {
            x.to_string()
        }
    };
    if schema == "public" && !name.contains('.') && !name.contains('"') && !name.is_empty() {
        name.to_string()
    } else {
        format!("{}.{}", part(schema), part(name))
    }
}

/// `(schema, table)` of a name as [`display_name`] writes it, or as a user writes
/// `schema.table`: a part is double-quoted, or runs to the first `.` (the table's part, to
/// the end). Without a schema, `None`.
pub fn split_name(name: &str) -> (Option<String>, String) {
    // A quoted part: its text with doubled quotes undone, and what follows it.
    fn quoted(text: &str) -> Option<(String, &str)> {
        let rest = text.strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    chars.next();
                    out.push('"');
                } else {
                    return Some((out, &rest[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        None
    }
    let (first, rest) = match quoted(name) {
        Some((part, rest)) => (part, rest),
        None => match name.find('.') {
            Some(dot) => (name[..dot].to_string(), &name[dot..]),
            None => return (None, name.to_string()),
        },
    };
    match rest.strip_prefix('.') {
        Some(table) => {
            let table = match quoted(table) {
                Some((part, "")) => part,
                _ => table.to_string(),
            };
            (Some(first), table)
        }
        None if rest.is_empty() => (None, first),
        // Not a name this function wrote: take it whole.
        None => (None, name.to_string()),
    }
}

/// `"schema"."name"`, each quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// Quotes a PostgreSQL identifier with double quotes, doubling any inside.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (standard_conforming_strings is on in every supported server).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_displayed_name_splits_back_to_its_table() {
        for (schema, name) in [
            ("public", "orders"),
            ("public", "a.b"),
            ("sales", "orders"),
            ("sales", "x.y"),
            ("x.y", "t"),
            ("public", "q\"uote"),
            ("Odd Schema", "T"),
        ] {
            let shown = display_name(schema, name);
            let (s, t) = split_name(&shown);
            assert_eq!(
                (s.as_deref().unwrap_or("public"), t.as_str()),
                (schema, name),
                "{shown}"
            );
        }
        assert_eq!(display_name("public", "a.b"), "public.\"a.b\"");
        // As users write them: the first dot separates the schema.
        assert_eq!(
            split_name("public.a.b"),
            (Some("public".into()), "a.b".into())
        );
        assert_eq!(split_name("orders"), (None, "orders".into()));
    }
}
