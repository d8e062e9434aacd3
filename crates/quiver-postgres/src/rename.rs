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
    let old = pg.name.clone();
    let new = name.clone();
    let follow = |object: &str| match object.strip_prefix(old.as_str()) {
        Some(rest) => format!("{new}{rest}"),
        None => format!("{new}_{object}"),
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
