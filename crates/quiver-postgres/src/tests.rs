//! Against a real server (see [`crate::test_server`]): the key order of a scan is the order
//! Rust compares the stored values in, for every key type, whatever the database's collation.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use proptest::prelude::*;
use quiver_catalog::BackupSource;

use crate::test_server::PgTestServer;
use crate::{ConnectionSpec, PostgresSource};

/// One database for this process's cases.
fn database() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| PgTestServer::shared().database("key_order"))
        .clone()
}

/// A stored key value, compared as quiver's diff and merge compare them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Stored {
    Integer(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// The key column's values in the order a backup's scan reads them.
fn scanned(url: &str, table: &str) -> Vec<Stored> {
    let mut source = PostgresSource::new(ConnectionSpec::parse(url).unwrap());
    let mut snapshot = source.snapshot().unwrap();
    let schema = snapshot.describe(table).unwrap();
    let mut out = Vec::new();
    snapshot
        .scan(&schema, 7, &mut |batch| {
            let column = batch.column(0);
            for row in 0..column.len() {
                out.push(match column.data_type() {
                    DataType::Int64 => {
                        Stored::Integer(column.as_primitive::<Int64Type>().value(row))
                    }
                    DataType::Utf8 => {
                        Stored::Text(column.as_string::<i32>().value(row).to_string())
                    }
                    DataType::Binary => {
                        Stored::Bytes(column.as_binary::<i32>().value(row).to_vec())
                    }
                    other => panic!("a key stored as {other}"),
                });
            }
            Ok(())
        })
        .unwrap();
    out
}

/// SQL literals of one key type, and the type.
fn literals() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    let quote = |s: String| format!("'{}'", s.replace('\'', "''"));
    prop_oneof![
        prop::collection::vec(any::<i64>().prop_map(|i| i.to_string()), 1..40)
            .prop_map(|v| ("bigint", v)),
        prop::collection::vec(any::<i16>().prop_map(|i| i.to_string()), 1..40)
            .prop_map(|v| ("smallint", v)),
        prop::collection::vec("[a-dA-D _.-]{0,4}|\\PC{0,6}", 1..40).prop_map(move |v| (
            "text",
            v.into_iter()
                .filter(|s| !s.contains('\0'))
                .map(quote)
                .collect()
        )),
        prop::collection::vec("[a-cA-C ]{0,3}", 1..40)
            .prop_map(move |v| ("varchar(8)", v.into_iter().map(quote).collect())),
        prop::collection::vec("[a-c ]{0,3}", 1..40)
            .prop_map(move |v| ("char(3)", v.into_iter().map(quote).collect())),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 1..40).prop_map(|v| (
            "bytea",
            v.into_iter()
                .map(|b| format!(
                    "'\\x{}'",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ))
                .collect()
        )),
        prop::collection::vec((-1_000_000i64..1_000_000, 0u32..4), 1..40).prop_map(|v| (
            "numeric",
            v.into_iter()
                .map(|(n, scale)| format!("{n}e-{scale}"))
                .collect()
        )),
        prop::collection::vec(-800_000i32..800_000, 1..40).prop_map(|v| (
            "date",
            v.into_iter()
                .map(|d| format!("(DATE '2000-01-01' + {d})"))
                .collect()
        )),
        prop::collection::vec(any::<u128>(), 1..40).prop_map(|v| (
            "uuid",
            v.into_iter().map(|u| format!("'{:032x}'", u)).collect()
        )),
        prop::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 1..40)
            .prop_map(|v| (
                "double precision",
                v.into_iter().map(|f| format!("'{f:e}'")).collect()
            )),
        prop::collection::vec(any::<bool>().prop_map(|b| b.to_string()), 1..3)
            .prop_map(|v| ("boolean", v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn scans_read_keys_in_the_order_rust_compares_them((type_name, values) in literals()) {
        let url = database();
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&format!("DROP TABLE IF EXISTS k; CREATE TABLE k (key {type_name} PRIMARY KEY, v int)")).unwrap();
        for value in &values {
            client.batch_execute(&format!("INSERT INTO k VALUES ({value}, 1) ON CONFLICT DO NOTHING")).unwrap();
        }
        let count: i64 = client.query_one("SELECT count(*) FROM k", &[]).unwrap().get(0);
        let keys = scanned(&url, "k");
        prop_assert_eq!(keys.len() as i64, count);
        // Strictly increasing: in Rust's order, and no two stored keys equal.
        for pair in keys.windows(2) {
            prop_assert!(pair[0] < pair[1], "{} keys out of order: {:?} then {:?}", type_name, pair[0], pair[1]);
        }
    }
}
