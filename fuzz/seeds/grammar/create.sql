CREATE BACKUP COLLECTION order_service_backups
    ( TABLE orders, TABLE order_items, TABLE `/Root/shop/payments` )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );
