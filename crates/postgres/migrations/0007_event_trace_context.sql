-- Each event carries the W3C traceparent of the work that recorded it (NULL for events
-- recorded before, or without a trace).
ALTER TABLE events ADD COLUMN IF NOT EXISTS trace_context TEXT;
