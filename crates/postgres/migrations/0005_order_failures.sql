-- Steps about an order that failed for good, and why (a JSON array; NULL for none).
ALTER TABLE order_views ADD COLUMN IF NOT EXISTS failures TEXT;
