-- Shipping addresses are stored as the events hold them: sealed under the customer's key
-- (bytes), so that forgetting the customer, which destroys the key, erases this copy too,
-- here and in every backup and WAL segment made of it. An address stored in the clear
-- before is kept as its UTF-8 text, read as it was; `orderflow projections rebuild`
-- replaces it with the sealed form.
ALTER TABLE order_views
    ALTER COLUMN shipping_address TYPE BYTEA USING convert_to(shipping_address, 'UTF8');
