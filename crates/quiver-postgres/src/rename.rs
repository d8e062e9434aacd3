//! A table restored under a new name: the names PostgreSQL keeps per schema (constraints
//! that own an index, indexes, serial sequences) follow it, so the copy can sit beside the
//! original; foreign keys to restored tables follow their copies, others are dropped.

use quiver_catalog::{RenamedTable, TableSchema};

use crate::ddl::stored;
use crate::describe::neutral;
use crate::error::{Error, Result};
use crate::table::{PgTable, display_name, quote_ident};
use crate::target::split_name;

/// `table` restored as `new_name(table)`; `new_name` gives the name of every table
/// restored with it, `None` for the others.
pub fn renamed(
    table: &TableSchema,
    new_name: &dyn Fn(&str) -> Option<String>,
) -> Result<RenamedTable> {
    let mut pg = stored(table)?;
    let target = new_name(&table.name).ok_or_else(|| {
        Error::RefusedDdl(format!("table `{}` is renamed to nothing", table.name))
    })?;
    let (schema, name) = split_name(&target);
    if name.len() > MAX_NAME_BYTES || schema.len() > MAX_NAME_BYTES {
        return Err(Error::RefusedDdl(format!(
            "the copy's name `{target}` is longer than PostgreSQL's {MAX_NAME_BYTES} bytes: choose a shorter TARGET_PREFIX or RENAME"
        )));
    }
    let old = pg.name.clone();
    let mut taken = vec![name.clone()];
    let mut follow = |object: &str| {
        let chosen = object_name(&name, &old, object, &taken);
        taken.push(chosen.clone());
        chosen
    };
    for constraint in &mut pg.constraints {
        constraint.name = follow(&constraint.name);
    }
    for index in &mut pg.indexes {
        index.name = follow(&index.name);
    }
    for sequence in &mut pg.sequences {
        sequence.name = follow(&sequence.name);
    }
    let mut dropped = Vec::new();
    let original = pg.display_name();
    pg.foreign_keys.retain_mut(|fk| {
        let parent = display_name(&fk.parent_schema, &fk.parent);
        match new_name(&parent) {
            Some(copy) => {
                let (s, t) = split_name(&copy);
                fk.parent_schema = s;
                fk.parent = t;
                true
            }
            None => {
                dropped.push(format!(
                    "foreign key {} of `{original}` refers to `{parent}`, which is not restored with it: the copy `{target}` has no such foreign key",
                    quote_ident(&fk.name)
                ));
                false
            }
        }
    });
    pg.schema = schema;
    pg.name = name;
    let copy: &PgTable = &pg;
    Ok(RenamedTable {
        schema: neutral(copy, table.primary_key.clone()),
        dropped_references: dropped,
    })
}

/// PostgreSQL's longest name (NAMEDATALEN - 1): longer ones it cuts short.
const MAX_NAME_BYTES: usize = 63;

/// The name of an object of the copy (a constraint, index or sequence of table `old`
/// renamed to `new`): `old`'s part of the name replaced by `new`'s, else `new_object`, cut
/// to 63 bytes as PostgreSQL's own names are (the table's part shortened, the suffix kept),
/// and made unlike every name in `taken` with a number, as PostgreSQL does.
fn object_name(new: &str, old: &str, object: &str, taken: &[String]) -> String {
    // The suffix after the table's part: `_pkey`, `_v_check`; PostgreSQL may have cut the
    // table's part of a long name already, so any prefix of `old` counts.
    let suffix = match object.strip_prefix(old) {
        Some(rest) => rest.to_string(),
        None => {
            let shared = old
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .rev()
                .find(|&end| object.starts_with(&old[..end]) && object[end..].starts_with('_'));
            match shared {
                Some(end) => object[end..].to_string(),
                None => format!("_{object}"),
            }
        }
    };
    let fit = |base: &str, tail: &str| {
        let mut end = MAX_NAME_BYTES.saturating_sub(tail.len()).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let mut tail = tail.to_string();
        while tail.len() > MAX_NAME_BYTES {
            tail.pop();
        }
        format!("{}{tail}", &base[..end])
    };
    let mut chosen = fit(new, &suffix);
    let mut n = 1;
    while taken.iter().any(|t| t == &chosen) {
        chosen = fit(new, &format!("{suffix}{n}"));
        n += 1;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_get_names_postgresql_keeps_whole_and_apart() {
        assert_eq!(object_name("old_t", "t", "t_pkey", &[]), "old_t_pkey");
        assert_eq!(object_name("old_t", "t", "by_email", &[]), "old_t_by_email");
        let long = "o".repeat(58);
        let copy = format!("copy_{long}");
        let name = object_name(
            &copy,
            &long,
            &format!("{long}_pkey"),
            std::slice::from_ref(&copy),
        );
        assert!(
            name.len() <= 63 && name.ends_with("_pkey") && name != copy,
            "{name}"
        );
        // PostgreSQL had cut the original's name: the suffix is still found.
        let table = "customer_subscription_billing_history_entries";
        let cut = "customer_subscription_billing_history_entr_last_payment_amou_check";
        let cut = &cut[..63];
        let name = object_name(&format!("old_{table}"), table, cut, &[]);
        assert!(
            name.len() <= 63 && name.starts_with("old_customer"),
            "{name}"
        );
        let twice = object_name("x", "t", "t_pkey", &["x_pkey".to_string()]);
        assert_eq!(twice, "x_pkey1");
    }
}
