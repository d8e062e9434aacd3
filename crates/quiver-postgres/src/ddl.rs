//! The DDL a restore runs, built by quiver from a stored [`PgTable`]: names are quoted
//! here, and every stored expression is checked first ([`check`]), since a backup location
//! is untrusted. Each statement runs alone (the extended protocol takes one statement), and
//! once the table exists the restore asks the server what its checks call
//! ([`CREATED_SHAPE_SQL`], [`FORBIDDEN_CALLS_SQL`]) before any row goes in.

use quiver_catalog::{Dialect, TableSchema};

use crate::error::{Error, Result};
use crate::table::{
    Form, PgColumn, PgForeignKey, PgTable, SequenceOptions, qualified, quote_ident, quote_literal,
};
use crate::tokens::{Kind, check_fragment, tokenize};

/// The largest stored description read (a forged one could be huge).
const MAX_FRAGMENT: usize = 64 << 10;

/// `table`'s PostgreSQL description, checked: it is one this adapter wrote, its neutral
/// part agrees with it, and every stored fragment is one that cannot leave its clause.
pub fn stored(table: &TableSchema) -> Result<PgTable> {
    let refuse = |why: String| Error::RefusedDdl(format!("table `{}`: {why}", table.name));
    if table.dialect != Dialect::Postgres {
        return Err(refuse(format!(
            "it was backed up from {}: it restores into a {} database, not into PostgreSQL",
            table.dialect, table.dialect
        )));
    }
    let value = table
        .adapter
        .clone()
        .ok_or_else(|| refuse("its PostgreSQL description is missing".into()))?;
    let pg: PgTable = serde_json::from_value(value)
        .map_err(|e| refuse(format!("its PostgreSQL description cannot be read: {e}")))?;
    check(&pg).map_err(refuse)?;
    if pg.display_name() != table.name {
        return Err(refuse(format!(
            "its description names table `{}`",
            pg.display_name()
        )));
    }
    let stored: Vec<&PgColumn> = pg.stored_columns().collect();
    let agrees = stored.len() == table.columns.len()
        && stored.iter().zip(&table.columns).all(|(p, c)| {
            p.name == c.name
                && p.form.column_type() == c.column_type
                && c.has_raw == p.form.has_raw()
                && c.text_form == (p.form == Form::TextForm)
        });
    if !agrees || table.stores_rowid {
        return Err(refuse(
            "its columns do not match its PostgreSQL description".into(),
        ));
    }
    for key in &table.primary_key {
        if !stored.iter().any(|c| {
            &c.name == key
                && matches!(
                    c.form,
                    Form::Integer { .. } | Form::Text | Form::Bytes | Form::TextForm
                )
        }) {
            return Err(refuse(format!("key column `{key}` is not a stored column")));
        }
    }
    Ok(pg)
}

/// Checks every stored fragment of `table` and the references between its parts.
pub(crate) fn check(table: &PgTable) -> Result<(), String> {
    let fragment = |text: &str, what: &str| -> Result<(), String> {
        if text.len() > MAX_FRAGMENT {
            return Err(format!("{what} is {} bytes long", text.len()));
        }
        check_fragment(text, what).map(|_| ())
    };
    for column in &table.columns {
        let what = |x: &str| format!("the {x} of column `{}`", column.name);
        check_type_name(&column.type_name).map_err(|e| format!("{}: {e}", what("type")))?;
        if let Some(default) = &column.default {
            fragment(default, &what("default"))?;
            expression_only(default, &what("default"))?;
        }
        if let Some(generated) = &column.generated {
            fragment(generated, &what("generation expression"))?;
            expression_only(generated, &what("generation expression"))?;
        }
        if !column.form.fits_type(&column.type_name) {
            return Err(format!(
                "column `{}` of type {} is described as stored in another type's form",
                column.name, column.type_name
            ));
        }
        if (column.form == Form::Generated) != column.generated.is_some() {
            return Err(format!(
                "column `{}` is stored and generated at once",
                column.name
            ));
        }
        if column.serial.is_some_and(|s| s >= table.sequences.len()) {
            return Err(format!(
                "column `{}` names a sequence the table does not have",
                column.name
            ));
        }
        if let Some(identity) = &column.identity {
            check_sequence_options(&identity.options)?;
        }
    }
    for constraint in &table.constraints {
        let what = format!("constraint `{}`", constraint.name);
        let expected: &[&str] = match constraint.kind {
            'p' => &["PRIMARY"],
            'u' => &["UNIQUE"],
            'c' => &["CHECK"],
            'x' => &["EXCLUDE"],
            other => return Err(format!("{what} is of unknown kind `{other}`")),
        };
        starts_with(&constraint.definition, expected, &what)?;
        // One clause: a parenthesized list or expression may hold commas, the clause not.
        fragment(&constraint.definition, &what)?;
    }
    for fk in &table.foreign_keys {
        check_fk_actions(fk)?;
    }
    for index in &table.indexes {
        let what = format!("index `{}`", index.name);
        starts_with(&index.definition, &["USING"], &what)?;
        fragment(&index.definition, &what)?;
    }
    for trigger in &table.triggers {
        let what = format!("trigger `{}`", trigger.name);
        // `AFTER UPDATE OF a, b OR DELETE`: words, quoted column names and commas only.
        let tokens = tokenize(&trigger.timing).map_err(|e| format!("{what}: {e}"))?;
        let words = [
            "BEFORE", "AFTER", "INSTEAD", "OF", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "OR",
        ];
        let after_of = |i: usize| tokens[..i].iter().any(|t| t.is_word("OF"));
        let fine = !tokens.is_empty()
            && tokens.iter().enumerate().all(|(i, t)| match t.kind {
                Kind::Word => words.iter().any(|w| t.is_word(w)) || after_of(i),
                Kind::QuotedIdent | Kind::Comma => after_of(i),
                _ => false,
            });
        if !fine {
            return Err(format!(
                "{what} has an unexpected timing `{}`",
                crate::tokens::shorten(&trigger.timing)
            ));
        }
        let body = tokenize(&trigger.body).map_err(|e| format!("{what}: {e}"))?;
        if body
            .iter()
            .any(|t| matches!(t.kind, Kind::Semicolon | Kind::Comment))
        {
            return Err(format!("{what} holds a `;` or a comment"));
        }
        if !body.windows(2).any(|w| {
            w[0].is_word("EXECUTE") && (w[1].is_word("FUNCTION") || w[1].is_word("PROCEDURE"))
        }) {
            return Err(format!("{what} executes no function"));
        }
    }
    for e in &table.enums {
        if ["pg_catalog", "information_schema", "pg_toast"].contains(&e.schema.as_str())
            || e.schema.starts_with("pg_")
        {
            return Err(format!("enum type `{}` is in a system schema", e.name));
        }
        let used = table
            .columns
            .iter()
            .any(|c| names_type(&c.type_name, &e.schema, &e.name));
        if !used || e.labels.is_empty() {
            return Err(format!(
                "enum type `{}.{}` is used by no column",
                e.schema, e.name
            ));
        }
    }
    for sequence in &table.sequences {
        check_sequence_options(&sequence.options)?;
        if !table.columns.iter().any(|c| c.name == sequence.column) {
            return Err(format!("sequence `{}` belongs to no column", sequence.name));
        }
    }
    for identity in &table.identities {
        if !table
            .columns
            .iter()
            .any(|c| c.name == identity.column && c.identity.is_some())
        {
            return Err(format!(
                "identity position for `{}`, which is no identity column",
                identity.column
            ));
        }
    }
    Ok(())
}

/// Refuses an expression that carries a column clause after it (`1 REFERENCES t`, `0 NOT
/// NULL UNIQUE`): a default or generation expression is an expression only.
fn expression_only(text: &str, what: &str) -> Result<(), String> {
    let tokens = tokenize(text).map_err(|e| format!("{what}: {e}"))?;
    let clauses = [
        "CONSTRAINT",
        "UNIQUE",
        "PRIMARY",
        "REFERENCES",
        "CHECK",
        "DEFAULT",
        "GENERATED",
        "STORED",
    ];
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            Kind::Word if depth == 0 => {
                let not_null = token.is_word("NOT")
                    && tokens.get(i + 1).is_some_and(|t| t.is_word("NULL"))
                    && !(i > 0 && tokens[i - 1].is_word("IS"));
                if not_null || clauses.iter().any(|c| token.is_word(c)) {
                    return Err(format!(
                        "{what} `{}` carries a column clause (`{}`)",
                        crate::tokens::shorten(text),
                        token.text
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether type name `type_name` (as `format_type` writes it, maybe an array) names
/// `schema.name`.
fn names_type(type_name: &str, schema: &str, name: &str) -> bool {
    let Ok(tokens) = tokenize(type_name.trim_end_matches("[]")) else {
        return false;
    };
    match tokens.as_slice() {
        [s, dot, n] if dot.text == "." => {
            s.name().as_deref() == Some(schema) && n.name().as_deref() == Some(name)
        }
        [n] => schema == "public" && n.name().as_deref() == Some(name),
        _ => false,
    }
}

fn starts_with(text: &str, words: &[&str], what: &str) -> Result<(), String> {
    let tokens = tokenize(text).map_err(|e| format!("{what}: {e}"))?;
    if words.iter().zip(&tokens).all(|(w, t)| t.is_word(w)) && tokens.len() >= words.len() {
        Ok(())
    } else {
        Err(format!("{what} does not start with {}", words.join(" ")))
    }
}

/// A type name as `format_type` writes it: words, quoted names, dots, numbers in a typmod
/// and `[]`; nothing else. The restore also resolves it (`to_regtype`) before using it.
fn check_type_name(name: &str) -> Result<(), String> {
    let tokens = tokenize(name)?;
    let fine = !tokens.is_empty()
        && tokens.iter().enumerate().all(|(i, t)| match t.kind {
            Kind::Word
            | Kind::QuotedIdent
            | Kind::Number
            | Kind::Open
            | Kind::Close
            | Kind::Comma => true,
            // A negative scale, `numeric(5,-2)` (PostgreSQL 15).
            Kind::Other if t.text == "-" => {
                i > 0
                    && tokens[i - 1].kind == Kind::Comma
                    && tokens.get(i + 1).is_some_and(|n| n.kind == Kind::Number)
            }
            Kind::Other => t.text == ".",
            _ => false,
        });
    // Only these words may follow another: `double precision`, `character varying`,
    // `timestamp(3) with time zone`, `bit varying`.
    let words_fine = tokens.windows(2).all(|w| {
        w[0].kind != Kind::Word
            || w[1].kind != Kind::Word
            || [
                "precision",
                "varying",
                "with",
                "without",
                "time",
                "zone",
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "to",
            ]
            .iter()
            .any(|k| w[1].is_word(k))
    });
    if fine && words_fine {
        check_fragment(name, "a type name").map(|_| ())
    } else {
        Err(format!(
            "`{}` is not a type name",
            crate::tokens::shorten(name)
        ))
    }
}

fn check_sequence_options(options: &SequenceOptions) -> Result<(), String> {
    if ["smallint", "integer", "bigint"].contains(&options.data_type.as_str())
        && options.increment != 0
    {
        Ok(())
    } else {
        Err(format!(
            "a sequence of type `{}` with increment {}",
            crate::tokens::shorten(&options.data_type),
            options.increment
        ))
    }
}

fn check_fk_actions(fk: &PgForeignKey) -> Result<(), String> {
    let what = format!("foreign key `{}`", fk.name);
    let tokens = tokenize(&fk.actions).map_err(|e| format!("{what}: {e}"))?;
    let words = [
        "MATCH",
        "FULL",
        "SIMPLE",
        "PARTIAL",
        "ON",
        "DELETE",
        "UPDATE",
        "CASCADE",
        "RESTRICT",
        "SET",
        "NULL",
        "DEFAULT",
        "NO",
        "ACTION",
        "DEFERRABLE",
        "NOT",
        "INITIALLY",
        "DEFERRED",
        "IMMEDIATE",
        "VALID",
    ];
    let mut depth = 0usize;
    for token in &tokens {
        match token.kind {
            Kind::Word if depth == 0 && words.iter().any(|w| token.is_word(w)) => {}
            Kind::Word | Kind::QuotedIdent | Kind::Comma if depth > 0 => {}
            Kind::Open if depth == 0 => depth = 1,
            Kind::Close if depth == 1 => depth = 0,
            _ => {
                return Err(format!(
                    "{what} has unexpected actions `{}`",
                    crate::tokens::shorten(&fk.actions)
                ));
            }
        }
    }
    if fk.columns.is_empty() || fk.columns.len() != fk.parent_columns.len() {
        return Err(format!("{what} has mismatched column lists"));
    }
    Ok(())
}

/// `CREATE SEQUENCE` for a serial's sequence.
pub(crate) fn create_sequence(table: &PgTable, name: &str, options: &SequenceOptions) -> String {
    format!(
        "CREATE SEQUENCE {} {}",
        qualified(&table.schema, name),
        sequence_options(options, true)
    )
}

/// A sequence's options; `AS type` only for a sequence of its own (an identity's has its
/// column's type).
fn sequence_options(o: &SequenceOptions, with_type: bool) -> String {
    let data_type = if with_type {
        format!("AS {} ", o.data_type)
    } else {
        String::new()
    };
    format!(
        "{data_type}INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
        o.increment,
        o.min,
        o.max,
        o.start,
        o.cache.max(1),
        if o.cycle { "CYCLE" } else { "NO CYCLE" }
    )
}

/// `CREATE TABLE` with columns and the constraints that are not foreign keys.
pub(crate) fn create_table(table: &PgTable) -> String {
    let mut parts = Vec::new();
    for column in &table.columns {
        let mut part = format!("{} {}", quote_ident(&column.name), column.type_name);
        if let Some((schema, name)) = &column.collation {
            part += &format!(" COLLATE {}", qualified(schema, name));
        }
        if let Some(generated) = &column.generated {
            part += &format!(" GENERATED ALWAYS AS ({generated}) STORED");
        } else if let Some(sequence) = column.serial.and_then(|s| table.sequences.get(s)) {
            part += &format!(
                " DEFAULT pg_catalog.nextval({}::pg_catalog.regclass)",
                quote_literal(&qualified(&table.schema, &sequence.name))
            );
        } else if let Some(default) = &column.default {
            part += &format!(" DEFAULT {default}");
        }
        if let Some(identity) = &column.identity {
            part += &format!(
                " GENERATED {} AS IDENTITY ({})",
                if identity.always {
                    "ALWAYS"
                } else {
                    "BY DEFAULT"
                },
                sequence_options(&identity.options, false)
            );
        }
        if column.not_null {
            part += " NOT NULL";
        }
        parts.push(part);
    }
    for constraint in table.constraints.iter().filter(|c| !c.added_after_load()) {
        parts.push(format!(
            "CONSTRAINT {} {}",
            quote_ident(&constraint.name),
            constraint.definition
        ));
    }
    format!("CREATE TABLE {} ({})", table.qualified(), parts.join(", "))
}

/// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY`.
pub(crate) fn add_foreign_key(table: &PgTable, fk: &PgForeignKey) -> String {
    let list = |columns: &[String]| {
        columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) {}",
        table.qualified(),
        quote_ident(&fk.name),
        list(&fk.columns),
        qualified(&fk.parent_schema, &fk.parent),
        list(&fk.parent_columns),
        fk.actions
    )
}

/// The statements that finish a loaded table: primary key and unique constraints, indexes,
/// sequence positions, triggers.
pub(crate) fn finish_table(table: &PgTable) -> Vec<String> {
    let mut statements = Vec::new();
    for constraint in table.constraints.iter().filter(|c| c.added_after_load()) {
        statements.push(format!(
            "ALTER TABLE ONLY {} ADD CONSTRAINT {} {}",
            table.qualified(),
            quote_ident(&constraint.name),
            constraint.definition
        ));
    }
    for index in &table.indexes {
        statements.push(format!(
            "CREATE {}INDEX {} ON {} {}",
            if index.unique { "UNIQUE " } else { "" },
            quote_ident(&index.name),
            table.qualified(),
            index.definition
        ));
    }
    for sequence in &table.sequences {
        let name = qualified(&table.schema, &sequence.name);
        statements.push(format!(
            "ALTER SEQUENCE {name} OWNED BY {}.{}",
            table.qualified(),
            quote_ident(&sequence.column)
        ));
        statements.push(format!(
            "SELECT pg_catalog.setval({}::pg_catalog.regclass, {}, {})",
            quote_literal(&name),
            sequence.last_value,
            sequence.is_called
        ));
    }
    for identity in &table.identities {
        statements.push(format!(
            "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence({}, {}), {}, {})",
            quote_literal(&table.qualified()),
            quote_literal(&identity.column),
            identity.last_value,
            identity.is_called
        ));
    }
    for trigger in &table.triggers {
        statements.push(format!(
            "CREATE {}TRIGGER {} {} ON {} {}",
            if trigger.constraint {
                "CONSTRAINT "
            } else {
                ""
            },
            quote_ident(&trigger.name),
            trigger.timing,
            table.qualified(),
            trigger.body
        ));
        if trigger.disabled {
            statements.push(format!(
                "ALTER TABLE {} DISABLE TRIGGER {}",
                table.qualified(),
                quote_ident(&trigger.name)
            ));
        }
    }
    // Last, once the rows are in: row-level security on with no policy shows the rows to
    // the owner alone, never to more roles than at backup time.
    if table.access.row_security {
        statements.push(format!(
            "ALTER TABLE {} ENABLE ROW LEVEL SECURITY",
            table.qualified()
        ));
    }
    if table.access.force_row_security {
        statements.push(format!(
            "ALTER TABLE {} FORCE ROW LEVEL SECURITY",
            table.qualified()
        ));
    }
    statements
}

/// What of `table`'s access rules a restore does not rebuild, one warning each.
pub(crate) fn access_warnings(table: &PgTable, shown: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if !table.access.policies.is_empty() {
        let names: Vec<String> = table
            .access
            .policies
            .iter()
            .map(|p| quote_ident(p))
            .collect();
        warnings.push(format!(
            "the row-level security policies of `{shown}` ({}) were not restored: create them again{}",
            names.join(", "),
            if table.access.row_security {
                "; until then row-level security (restored) shows its rows to its owner alone"
            } else {
                ""
            }
        ));
    }
    if table.access.granted {
        warnings.push(format!(
            "the privileges granted on `{shown}` were not restored: only its owner (the role that restored it) may use it until they are granted again"
        ));
    }
    warnings
}

/// What a restored table's stored expressions call that must not run (`$1`: the table's
/// oid), one line each. A check runs on every restored row and a trigger's condition on
/// every later change, so neither may call a volatile function (`pg_read_file`, `pg_sleep`,
/// `set_config`, ... : every built-in that does something is volatile). A default runs on
/// later inserts: it may call the volatile built-ins defaults are for (`nextval`,
/// `gen_random_uuid`, `random`, `clock_timestamp`, `timeofday`) and the database's own
/// functions, no other built-in. The calls are read off the stored expression trees:
/// functions (`:funcid`) and operators' functions (`:opfuncid`, `:opno`); pg_depend would
/// not list built-in functions, which are pinned. Stable built-ins that run a query
/// (`table_to_xml` and its family) or read settings are refused everywhere: through them a
/// forged expression could read any table or view the restoring user can.
pub(crate) const FORBIDDEN_CALLS_SQL: &str = "
    WITH expressions(what, tree, any_volatile) AS (
        SELECT 'check constraint ' || c.conname, c.conbin::text, true
          FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1::int8::oid AND c.contype = 'c'
        UNION ALL
        SELECT 'trigger ' || t.tgname, t.tgqual::text, true
          FROM pg_catalog.pg_trigger t WHERE t.tgrelid = $1::int8::oid AND NOT t.tgisinternal AND t.tgqual IS NOT NULL
        UNION ALL
        SELECT 'the default of column ' || a.attname, d.adbin::text, false
          FROM pg_catalog.pg_attrdef d
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
          WHERE d.adrelid = $1::int8::oid
    )
    SELECT DISTINCT e.what || ' calls ' || p.oid::pg_catalog.regprocedure::text
    FROM expressions e,
         LATERAL pg_catalog.regexp_matches(e.tree, ':(funcid|opfuncid|opno) (\\d+)', 'g') m
    JOIN pg_catalog.pg_proc p ON p.oid = CASE
        WHEN m[1] = 'opno' THEN (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o WHERE o.oid = m[2]::pg_catalog.oid)
        ELSE m[2]::pg_catalog.oid END
    WHERE (p.provolatile = 'v'
           AND (e.any_volatile OR (p.oid < 16384
                AND p.proname NOT IN ('nextval', 'gen_random_uuid', 'random', 'clock_timestamp', 'timeofday'))))
       -- Stable built-ins that run a query or read what the restoring user may read: the
       -- XML exports of tables, queries, schemas and databases, and the server's settings.
       OR (p.oid < 16384 AND p.provolatile <> 'i'
           AND (p.proname LIKE '%to\\_xml%' OR p.proname LIKE '%xmlschema%'
                OR p.proname IN ('current_setting', 'pg_show_all_settings', 'pg_show_all_file_settings')))
    ORDER BY 1";

/// The shape the restored table must have once created: its columns (name, NOT NULL) in
/// order, and its constraints (name, kind), from the catalogs (`$1`: its oid). A stored
/// fragment that slipped another column or constraint in shows here.
pub(crate) const CREATED_SHAPE_SQL: &str = "
    SELECT array(SELECT a.attname::text || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
           array(SELECT c.contype::text || ' ' || c.conname::text
                 FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1::int8::oid ORDER BY 1)";

/// What [`CREATED_SHAPE_SQL`] must return for `table` before its foreign keys are added:
/// just created (`loaded` false: without the constraints [`PgConstraint::added_after_load`]),
/// or finished.
///
/// [`PgConstraint::added_after_load`]: crate::PgConstraint::added_after_load
pub(crate) fn expected_shape(table: &PgTable, loaded: bool) -> (Vec<String>, Vec<String>) {
    let present = |k: &&crate::table::PgConstraint| loaded || !k.added_after_load();
    let columns = table
        .columns
        .iter()
        .map(|c| {
            // Key and identity columns are NOT NULL whatever the description says.
            let not_null = c.not_null
                || c.identity.is_some()
                || table
                    .constraints
                    .iter()
                    .filter(present)
                    .any(|k| k.kind == 'p' && constraint_names_column(&k.definition, &c.name));
            format!("{}{}", c.name, if not_null { " NOT NULL" } else { "" })
        })
        .collect();
    let mut constraints: Vec<String> = table
        .constraints
        .iter()
        .filter(present)
        .map(|c| format!("{} {}", c.kind, c.name))
        .collect();
    constraints.sort();
    (columns, constraints)
}

/// Whether a `PRIMARY KEY (a, b)` definition lists column `name`.
fn constraint_names_column(definition: &str, name: &str) -> bool {
    tokenize(definition)
        .is_ok_and(|tokens| tokens.iter().any(|t| t.name().as_deref() == Some(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_names_only() {
        for fine in [
            "integer",
            "numeric(10,2)",
            "numeric(5,-2)",
            "public.mood[]",
            "\"My Type\"",
            "timestamp(3) with time zone",
            "character varying(20)",
            "double precision",
        ] {
            assert!(check_type_name(fine).is_ok(), "{fine}");
        }
        for forged in [
            "integer CHECK (false)",
            "int DEFAULT 1",
            "int, b int",
            "text COLLATE \"C\"",
            "int)",
            "int; DROP TABLE t",
            "numeric(5-2)",
            "int - 1",
            "numeric(5,-x)",
        ] {
            assert!(check_type_name(forged).is_err(), "{forged}");
        }
    }
}
