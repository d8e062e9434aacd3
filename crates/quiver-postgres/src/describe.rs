//! Describing a table from the catalogs, inside a backup's snapshot: the neutral
//! [`TableSchema`] (columns as Arrow types, the key) with the [`PgTable`] it restores from.

use postgres::GenericClient;
use quiver_catalog::{ColumnSchema, Dialect, TableSchema};

use crate::error::{Error, Result, server};
use crate::table::{
    Form, PgAccess, PgColumn, PgConstraint, PgEnum, PgForeignKey, PgIdentity, PgIdentityKind,
    PgIndex, PgSequence, PgTable, PgTrigger, SequenceOptions, display_name, qualified,
};
use crate::tokens::{Kind, tokenize};

/// Where a table is: its oid, schema and name.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub oid: i64,
    pub schema: String,
    pub name: String,
}

/// Finds table `name` (`table` through `schemas`, the session's search path in order, or
/// `schema.table`), matching the name as given, then as PostgreSQL folds an unquoted one
/// (lower case).
pub(crate) fn locate(
    client: &mut impl GenericClient,
    name: &str,
    schemas: &[String],
) -> Result<Option<Located>> {
    // `schema.table` (or quoted parts), else the name through the search path; each as
    // given, then folded to lower case as PostgreSQL folds unquoted names.
    let (schema, table) = crate::table::split_name(name);
    let mut candidates: Vec<(Option<String>, String)> = vec![(schema.clone(), table.clone())];
    if schema.is_some() {
        candidates.push((None, name.to_string()));
    }
    for (schema, table) in candidates {
        for (schema, table) in [
            (schema.clone(), table.clone()),
            (schema.map(|s| s.to_lowercase()), table.to_lowercase()),
        ] {
            let rows = client
                .query(
                    "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text
                     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                       AND (n.nspname = $2 OR ($2 IS NULL AND n.nspname = ANY($3)))",
                    &[&table, &schema, &schemas],
                )
                .map_err(server(|| format!("looking up table `{name}`")))?;
            // Through the search path, the first schema that has it.
            let found = rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i64>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        r.get::<_, String>(3),
                    )
                })
                .min_by_key(|(_, s, _, _)| {
                    schemas.iter().position(|p| p == s).unwrap_or(usize::MAX)
                });
            if let Some((oid, schema, table, kind)) = found {
                if kind != "r" {
                    let what = match kind.as_str() {
                        "p" => "a partitioned table: back up its partitions instead",
                        "v" => "a view",
                        "m" => "a materialized view",
                        _ => "a foreign table",
                    };
                    return Err(Error::Unsupported {
                        name: display_name(&schema, &table),
                        reason: format!("it is {what}"),
                    });
                }
                return Ok(Some(Located {
                    oid,
                    schema,
                    name: table,
                }));
            }
        }
    }
    Ok(None)
}

/// Describes the located table. The session's search path must be empty, so that every
/// name the catalogs' functions write is schema-qualified.
pub(crate) fn describe(client: &mut impl GenericClient, at: &Located) -> Result<TableSchema> {
    let shown = display_name(&at.schema, &at.name);
    let context = |what: &str| format!("describing `{shown}`: {what}");
    let unsupported = |reason: String| Error::Unsupported {
        name: shown.clone(),
        reason,
    };
    let inherits: i64 = client
        .query_one("SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhrelid = $1::int8::oid OR inhparent = $1::int8::oid", &[&at.oid])
        .map_err(server(|| context("inheritance")))?
        .get(0);
    if inherits > 0 {
        return Err(unsupported("it inherits from, or is inherited by, another table (or is a partition); quiver restores single tables".into()));
    }
    let server_version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .map_err(server(|| context("server version")))?
        .get(0);
    let mut key = key_columns(client, at.oid).map_err(server(|| context("key")))?;
    let generated_key: bool = client
        .query_one(
            "SELECT count(*) > 0 FROM pg_catalog.pg_attribute
             WHERE attrelid = $1::int8::oid AND attname::text = ANY($2) AND attgenerated <> ''",
            &[&at.oid, &key],
        )
        .map_err(server(|| context("key")))?
        .get(0);
    if generated_key {
        // A generated column is not stored, so it cannot order the stored rows: the table
        // gets full backups only, like one without a key.
        key.clear();
    }

    let sequences = owned_sequences(client, at)?;
    let mut columns = Vec::new();
    let mut identities = Vec::new();
    let mut enum_oids = Vec::new();
    let rows = client
        .query(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::int8,
                    t.typtype::text, a.attnotnull,
                    pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, a.attidentity::text,
                    CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN cn.nspname::text END,
                    CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN co.collname::text END,
                    CASE WHEN t.typtype = 'e' THEN t.oid::int8
                         WHEN et.typtype = 'e' THEN et.oid::int8 END
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
             LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
             LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&at.oid],
        )
        .map_err(server(|| context("columns")))?;
    for row in rows {
        let name: String = row.get(0);
        let type_oid: i64 = row.get(2);
        let type_kind: String = row.get(3);
        let expression: Option<String> = row.get(5);
        let generated: String = row.get(6);
        let identity: String = row.get(7);
        if let Some(oid) = row.get::<_, Option<i64>>(10)
            && !enum_oids.contains(&oid)
        {
            enum_oids.push(oid);
        }
        if type_kind == "p" {
            return Err(unsupported(format!("column `{name}` has a pseudo-type")));
        }
        let in_key = key.iter().any(|k| k == &name);
        let form = if !generated.is_empty() {
            Form::Generated
        } else {
            form_of(type_oid, &row.get::<_, String>(1), in_key)
        };
        // Positions count the serials' sequences only, as PgTable::sequences keeps them.
        let serial = sequences.iter().filter(|s| !s.1).position(|s| {
            s.0.column == name
                && expression.as_deref() == Some(serial_default(&at.schema, &s.0.name).as_str())
        });
        let identity_kind = match identity.as_str() {
            "a" | "d" => {
                let (sequence, _) = sequences
                    .iter()
                    .find(|s| s.0.column == name && s.1)
                    .ok_or_else(|| {
                        unsupported(format!("identity column `{name}` has no sequence"))
                    })?;
                identities.push(PgIdentity {
                    column: name.clone(),
                    last_value: sequence.last_value,
                    is_called: sequence.is_called,
                });
                Some(PgIdentityKind {
                    always: identity == "a",
                    options: sequence.options.clone(),
                })
            }
            _ => None,
        };
        let (default, generated) = match (generated.is_empty(), serial) {
            (false, _) => (None, expression),
            (true, Some(_)) => (None, None),
            (true, None) => (expression, None),
        };
        let collation = match (
            row.get::<_, Option<String>>(8),
            row.get::<_, Option<String>>(9),
        ) {
            (Some(schema), Some(name)) => Some((schema, name)),
            _ => None,
        };
        columns.push(PgColumn {
            name,
            type_name: row.get(1),
            form,
            not_null: row.get(4),
            collation,
            default,
            serial,
            identity: identity_kind,
            generated,
        });
    }
    if columns.iter().all(|c| c.form == Form::Generated) {
        return Err(unsupported("it has no stored column".into()));
    }

    let constraints = client
        .query(
            "SELECT conname::text, contype::text, pg_catalog.pg_get_constraintdef(oid)
             FROM pg_catalog.pg_constraint
             WHERE conrelid = $1::int8::oid AND contype IN ('p', 'u', 'c', 'x')
             ORDER BY contype, conname",
            &[&at.oid],
        )
        .map_err(server(|| context("constraints")))?
        .into_iter()
        .map(|r| PgConstraint {
            name: r.get(0),
            kind: r.get::<_, String>(1).chars().next().unwrap_or('c'),
            definition: r.get(2),
        })
        .collect();
    let foreign_keys = foreign_keys(client, at.oid).map_err(server(|| context("foreign keys")))?;
    let foreign_keys = foreign_keys
        .into_iter()
        .map(|(fk, definition)| {
            Ok(PgForeignKey {
                actions: fk_actions(&definition).map_err(&unsupported)?,
                ..fk
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let indexes = client
        .query(
            "SELECT ic.relname::text, i.indisunique, pg_catalog.pg_get_indexdef(i.indexrelid)
             FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = $1::int8::oid
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                               WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                                 AND c.contype IN ('p', 'u', 'x'))
             ORDER BY ic.relname",
            &[&at.oid],
        )
        .map_err(server(|| context("indexes")))?
        .into_iter()
        .map(|r| {
            let definition: String = r.get(2);
            Ok(PgIndex {
                name: r.get(0),
                unique: r.get(1),
                definition: after_word(&definition, "USING", true).ok_or_else(|| {
                    unsupported(format!("cannot read index definition `{definition}`"))
                })?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let triggers = client
        .query(
            "SELECT tgname::text, tgconstraint <> 0, pg_catalog.pg_get_triggerdef(oid), tgenabled::text
             FROM pg_catalog.pg_trigger WHERE tgrelid = $1::int8::oid AND NOT tgisinternal ORDER BY tgname",
            &[&at.oid],
        )
        .map_err(server(|| context("triggers")))?
        .into_iter()
        .map(|r| {
            let definition: String = r.get(2);
            let (timing, body) = trigger_parts(&definition)
                .ok_or_else(|| unsupported(format!("cannot read trigger definition `{definition}`")))?;
            Ok(PgTrigger {
                name: r.get(0),
                constraint: r.get(1),
                timing,
                body,
                disabled: r.get::<_, String>(3) == "D",
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let enums = client
        .query(
            "SELECT n.nspname::text, t.typname::text,
                    array(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE t.oid = ANY($1::int8[]::oid[]) ORDER BY n.nspname, t.typname",
            &[&enum_oids],
        )
        .map_err(server(|| context("enum types")))?
        .into_iter()
        .map(|r| PgEnum { schema: r.get(0), name: r.get(1), labels: r.get(2) })
        .collect();

    let access = client
        .query_one(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, c.relacl IS NOT NULL,
                    array(SELECT p.polname::text FROM pg_catalog.pg_policy p
                          WHERE p.polrelid = c.oid ORDER BY p.polname)
             FROM pg_catalog.pg_class c WHERE c.oid = $1::int8::oid",
            &[&at.oid],
        )
        .map_err(server(|| context("row-level security")))?;
    let access = PgAccess {
        row_security: access.get(0),
        force_row_security: access.get(1),
        granted: access.get(2),
        policies: access.get(3),
    };

    let table = PgTable {
        server_version: u32::try_from(server_version).unwrap_or(0),
        schema: at.schema.clone(),
        name: at.name.clone(),
        columns,
        constraints,
        foreign_keys,
        indexes,
        triggers,
        sequences: sequences
            .into_iter()
            .filter(|s| !s.1)
            .map(|s| s.0)
            .collect(),
        identities,
        enums,
        access,
    };
    Ok(neutral(&table, key))
}

/// The neutral description of `table`, with `table` as its adapter part.
pub(crate) fn neutral(table: &PgTable, key: Vec<String>) -> TableSchema {
    let columns = table
        .stored_columns()
        .map(|c| ColumnSchema {
            name: c.name.clone(),
            declared_type: c.type_name.clone(),
            column_type: c.form.column_type(),
            has_raw: c.form.has_raw(),
            in_primary_key: key.contains(&c.name),
            text_form: c.form == Form::TextForm,
        })
        .collect();
    TableSchema {
        name: table.display_name(),
        columns,
        primary_key: key,
        stores_rowid: false,
        create_sql: String::new(),
        index_sql: Vec::new(),
        trigger_sql: Vec::new(),
        autoincrement_seq: None,
        dialect: Dialect::Postgres,
        adapter: Some(serde_json::to_value(table).expect("a PgTable serializes")),
    }
}

/// How a column of type `oid` travels. Keys travel only in forms whose order Rust and the
/// server agree on (integers, bytes, text under `COLLATE "C"`); other key types travel as
/// text and are ordered by it.
fn form_of(oid: i64, type_name: &str, in_key: bool) -> Form {
    let form = match (oid, type_name) {
        (21, _) => Form::Integer { bytes: 2 },
        (23, _) => Form::Integer { bytes: 4 },
        (20, _) => Form::Integer { bytes: 8 },
        (700, _) => Form::Float { bytes: 4 },
        (701, _) => Form::Float { bytes: 8 },
        (25 | 1043, _) => Form::Text,
        // char(n) with its padding (its text form drops trailing spaces); as a key, by its
        // text form, since the server compares it without them.
        (1042, _) if !in_key => Form::Text,
        (17, _) => Form::Bytes,
        (16, _) => Form::Bool,
        (1082, _) => Form::Date,
        (1114, _) => Form::Timestamp,
        (1184, _) => Form::TimestampTz,
        (1083, _) => Form::Time,
        (1700, _) => match crate::decimal::numeric_typmod(type_name) {
            Some((precision, scale)) => Form::Decimal { precision, scale },
            // Unconstrained numeric: each value has a scale of its own (and ±Infinity).
            None => Form::TextForm,
        },
        _ => Form::TextForm,
    };
    match form {
        Form::Integer { .. } | Form::Text | Form::Bytes | Form::TextForm | Form::Generated => form,
        // Keys compare in Rust as integers, bytes or text only.
        _ if in_key => Form::TextForm,
        other => other,
    }
}

/// The default of a `serial` column whose sequence is `sequence` (as `pg_get_expr` writes it
/// with an empty search path).
pub(crate) fn serial_default(schema: &str, sequence: &str) -> String {
    let name = format!(
        "{}.{}",
        ident_for_regclass(schema),
        ident_for_regclass(sequence)
    );
    format!("nextval('{}'::regclass)", name.replace('\'', "''"))
}

/// A name as `regclass` output writes it: bare when it needs no quotes, else quoted.
fn ident_for_regclass(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_string()
    } else {
        crate::table::quote_ident(name)
    }
}

/// The primary key's columns, else those of the smallest unique index over NOT NULL
/// columns (no expressions, no predicate); empty when there is neither.
fn key_columns(client: &mut impl GenericClient, oid: i64) -> Result<Vec<String>, postgres::Error> {
    let primary = client.query(
        "SELECT array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                      ORDER BY k.ord)
         FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1::int8::oid AND c.contype = 'p'",
        &[&oid],
    )?;
    if let Some(row) = primary.first() {
        return Ok(row.get(0));
    }
    let unique = client.query(
        "SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS columns
         FROM pg_catalog.pg_index i
         WHERE i.indrelid = $1::int8::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
           AND i.indexprs IS NULL
           AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                           WHERE k.ord <= i.indnkeyatts AND NOT a.attnotnull)
         ORDER BY i.indnkeyatts, i.indexrelid LIMIT 1",
        &[&oid],
    )?;
    Ok(unique.first().map(|r| r.get(0)).unwrap_or_default())
}

/// Sequences the table owns: (sequence, is it an identity's), with their positions.
fn owned_sequences(
    client: &mut impl GenericClient,
    at: &Located,
) -> Result<Vec<(PgSequence, bool)>> {
    let rows = client
        .query(
            "SELECT s.relname::text, a.attname::text, pg_catalog.format_type(q.seqtypid, NULL),
                    q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle, d.deptype = 'i'
             FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid
             JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
               AND d.refobjid = $1::int8::oid AND d.deptype IN ('a', 'i')
             ORDER BY s.relname",
            &[&at.oid],
        )
        .map_err(server(|| format!("reading the sequences of `{}`", at.name)))?;
    let mut sequences = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let position = client
            .query_one(
                &format!(
                    "SELECT last_value, is_called FROM {}",
                    qualified(&at.schema, &name)
                ),
                &[],
            )
            .map_err(server(|| format!("reading sequence `{name}`")))?;
        sequences.push((
            PgSequence {
                name,
                column: row.get(1),
                options: SequenceOptions {
                    data_type: row.get(2),
                    start: row.get(3),
                    increment: row.get(4),
                    min: row.get(5),
                    max: row.get(6),
                    cache: row.get(7),
                    cycle: row.get(8),
                },
                last_value: position.get(0),
                is_called: position.get(1),
            },
            row.get(9),
        ));
    }
    Ok(sequences)
}

/// Foreign keys, each with its `pg_get_constraintdef`.
fn foreign_keys(
    client: &mut impl GenericClient,
    oid: i64,
) -> Result<Vec<(PgForeignKey, String)>, postgres::Error> {
    let rows = client.query(
        "SELECT c.conname::text,
                array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.ord),
                pn.nspname::text, pc.relname::text,
                array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.ord),
                pg_catalog.pg_get_constraintdef(c.oid)
         FROM pg_catalog.pg_constraint c
         JOIN pg_catalog.pg_class pc ON pc.oid = c.confrelid
         JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE c.conrelid = $1::int8::oid AND c.contype = 'f' ORDER BY c.conname",
        &[&oid],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                PgForeignKey {
                    name: r.get(0),
                    columns: r.get(1),
                    parent_schema: r.get(2),
                    parent: r.get(3),
                    parent_columns: r.get(4),
                    actions: String::new(),
                },
                r.get(5),
            )
        })
        .collect())
}

/// What a foreign key's definition says after `REFERENCES parent(columns)`.
fn fk_actions(definition: &str) -> Result<String, String> {
    let tokens =
        tokenize(definition).map_err(|e| format!("cannot read foreign key `{definition}`: {e}"))?;
    let at = tokens
        .iter()
        .position(|t| t.is_word("REFERENCES"))
        .ok_or_else(|| format!("foreign key `{definition}` has no REFERENCES"))?;
    // The parent's name, then its column list.
    let open = tokens[at..]
        .iter()
        .position(|t| t.kind == Kind::Open)
        .map(|p| p + at)
        .ok_or_else(|| format!("foreign key `{definition}` names no columns"))?;
    let close = tokens[open..]
        .iter()
        .position(|t| t.kind == Kind::Close)
        .map(|p| p + open)
        .ok_or_else(|| format!("foreign key `{definition}` does not close its columns"))?;
    let rest = &tokens[close + 1..];
    Ok(match rest.first() {
        Some(first) => {
            let start = first.text.as_ptr() as usize - definition.as_ptr() as usize;
            definition[start..].trim().to_string()
        }
        None => String::new(),
    })
}

/// The text of `definition` from the first top-level word `word` on (`with` it) or after it.
fn after_word(definition: &str, word: &str, with: bool) -> Option<String> {
    let tokens = tokenize(definition).ok()?;
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            _ if depth == 0 && token.is_word(word) => {
                let from = if with { Some(token) } else { tokens.get(i + 1) };
                let start = from?.text.as_ptr() as usize - definition.as_ptr() as usize;
                return Some(definition[start..].trim().to_string());
            }
            _ => {}
        }
    }
    None
}

/// A trigger definition's timing (between its name and `ON`) and body (after the table).
fn trigger_parts(definition: &str) -> Option<(String, String)> {
    let tokens = tokenize(definition).ok()?;
    let offset =
        |t: &crate::tokens::Token<'_>| t.text.as_ptr() as usize - definition.as_ptr() as usize;
    // CREATE [CONSTRAINT] TRIGGER name <timing> ON table <body>
    let trigger = tokens.iter().position(|t| t.is_word("TRIGGER"))?;
    let timing_start = tokens.get(trigger + 2)?;
    let on = tokens
        .iter()
        .skip(trigger + 2)
        .position(|t| t.is_word("ON"))?
        + trigger
        + 2;
    // The table: a name, or schema . name.
    let mut body = on + 2;
    if tokens.get(body).is_some_and(|t| t.text == ".") {
        body += 2;
    }
    let timing = definition[offset(timing_start)..offset(&tokens[on])]
        .trim()
        .to_string();
    let body = definition[offset(tokens.get(body)?)..].trim().to_string();
    Some((timing, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_split_where_quiver_splices_its_names() {
        assert_eq!(
            fk_actions("FOREIGN KEY (a) REFERENCES public.p(id) ON DELETE CASCADE").unwrap(),
            "ON DELETE CASCADE"
        );
        assert_eq!(
            fk_actions("FOREIGN KEY (a) REFERENCES public.p(id)").unwrap(),
            ""
        );
        assert_eq!(
            after_word(
                "CREATE INDEX i ON public.t USING btree (lower(v)) WHERE (v <> ''::text)",
                "USING",
                true
            )
            .unwrap(),
            "USING btree (lower(v)) WHERE (v <> ''::text)"
        );
        assert_eq!(
            trigger_parts("CREATE TRIGGER audit AFTER INSERT OR UPDATE OF v ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()").unwrap(),
            ("AFTER INSERT OR UPDATE OF v".to_string(), "FOR EACH ROW EXECUTE FUNCTION public.f()".to_string())
        );
        assert_eq!(
            serial_default("public", "t_id_seq"),
            "nextval('public.t_id_seq'::regclass)"
        );
        assert_eq!(
            serial_default("Sales", "t_id_seq"),
            "nextval('\"Sales\".t_id_seq'::regclass)"
        );
    }
}
