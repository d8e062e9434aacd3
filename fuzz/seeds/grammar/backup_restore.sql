BACKUP order_service_backups;
BACKUP order_service_backups INCREMENTAL;
RESTORE order_service_backups;
RESTORE order_service_backups AT '20261125T151429.123Z_full';
