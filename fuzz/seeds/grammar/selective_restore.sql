RESTORE c AT '20261125T151429.123Z_incremental' WITH ( TABLES = 'a, b', TARGET_PREFIX = 'old_', RENAME = 'a = x', FILTER = 'customer = 42 AND note <> ''x''', DATABASE = 'copy.db' );
