-- Read models (CQRS query side): order and stock views, the position they reflect, and
-- analytics. A projection batch and its position commit in one transaction.
CREATE TABLE IF NOT EXISTS order_views (
    order_id         TEXT PRIMARY KEY,
    customer_id      TEXT        NOT NULL,
    status           TEXT        NOT NULL,
    items            TEXT        NOT NULL,
    total_cents      BIGINT      NOT NULL,
    currency         TEXT        NOT NULL,
    shipping_address TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    cancel_reason    TEXT,
    tracking_number  TEXT
);
CREATE INDEX IF NOT EXISTS order_views_by_customer ON order_views (customer_id, created_at);
CREATE TABLE IF NOT EXISTS stock_views (
    sku       TEXT PRIMARY KEY,
    available BIGINT NOT NULL,
    reserved  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS view_position (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_seen_events (event_id UUID PRIMARY KEY);
CREATE TABLE IF NOT EXISTS analytics_order_status (
    order_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_revenue (
    day   TEXT PRIMARY KEY,
    cents BIGINT NOT NULL
);
