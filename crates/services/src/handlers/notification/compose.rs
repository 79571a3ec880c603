//! The customer's emails: a text part and an HTML part saying the same, with the
//! order's lines (quantities, unit prices and amounts in the order's currency) and its
//! total; a shipped order's tracking number; a cancellation's reason in the customer's
//! terms (the reason recorded is the shop's, and stays in the order's history).

use std::fmt::Write as _;

use orderflow_core::mail::Email;
use orderflow_domain::Personal;
use orderflow_domain::events::NotificationKind;
use orderflow_domain::order::OrderState;
use orderflow_domain::process::reason_for_the_customer;
use orderflow_domain::{Money, OrderId};

/// The stable Message-ID of an order's email of one kind.
pub fn message_id(kind: NotificationKind, order_id: &OrderId) -> String {
    format!(
        "{}.{order_id}@orderflow.local",
        kind.as_str().to_lowercase().replace('_', "-")
    )
}

/// Text made safe to put in HTML.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the email says, before it is laid out as text and as HTML.
struct Content {
    subject: String,
    /// Paragraphs before the lines.
    opening: Vec<String>,
    /// Paragraphs after them.
    closing: Vec<String>,
}

fn content(kind: NotificationKind, order: &OrderState, detail: &str) -> Content {
    let id = &order.order_id;
    match kind {
        NotificationKind::OrderReceived => Content {
            subject: format!("We received your order {id}"),
            opening: vec![format!(
                "Thank you for your order {id}. We have received it and will write again \
                 when it ships."
            )],
            closing: vec![],
        },
        NotificationKind::OrderShipped => Content {
            subject: format!("Your order {id} has shipped"),
            opening: vec![format!("Your order {id} is on its way.")],
            closing: vec![format!("Tracking number: {detail}")],
        },
        NotificationKind::OrderCancelled => Content {
            subject: format!("Your order {id} was cancelled"),
            opening: vec![
                format!("We are sorry: your order {id} was cancelled."),
                reason_for_the_customer(detail).to_owned(),
            ],
            closing: vec![],
        },
    }
}

fn amount(money: Money, currency: &str) -> String {
    format!("{money} {currency}")
}

/// A line's amount: its unit price times its quantity.
fn line_total(line: &orderflow_domain::OrderLine) -> Money {
    line.unit_price
        .checked_mul(line.quantity)
        .unwrap_or(line.unit_price)
}

fn text(content: &Content, order: &OrderState) -> String {
    let currency = order.currency.as_str();
    let mut out = String::from("Hello,\n\n");
    for p in &content.opening {
        let _ = writeln!(out, "{p}\n");
    }
    out.push_str("Your order:\n");
    for line in order.lines.lines() {
        let total = line_total(line);
        let _ = writeln!(
            out,
            "  {} x {} at {} = {}",
            line.quantity.get(),
            line.sku,
            amount(line.unit_price, currency),
            amount(total, currency)
        );
    }
    let _ = writeln!(out, "  Total: {}", amount(order.lines.total(), currency));
    if let Some(address) = order.shipping_address.as_ref().and_then(Personal::text) {
        let _ = writeln!(out, "  Shipping to: {address}");
    }
    out.push('\n');
    for p in &content.closing {
        let _ = writeln!(out, "{p}\n");
    }
    out.push_str("orderflow\n");
    out
}

fn html(content: &Content, order: &OrderState) -> String {
    let currency = order.currency.as_str();
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n<body style=\"font-family: sans-serif\">\n<p>Hello,</p>\n",
    );
    for p in &content.opening {
        let _ = writeln!(out, "<p>{}</p>", escaped(p));
    }
    out.push_str(
        "<table cellpadding=\"4\">\n<tr><th align=\"left\">Item</th><th align=\"right\">\
         Quantity</th><th align=\"right\">Price</th><th align=\"right\">Amount</th></tr>\n",
    );
    for line in order.lines.lines() {
        let total = line_total(line);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td>\
             <td align=\"right\">{}</td></tr>",
            escaped(line.sku.as_str()),
            line.quantity.get(),
            escaped(&amount(line.unit_price, currency)),
            escaped(&amount(total, currency))
        );
    }
    let _ = writeln!(
        out,
        "<tr><th align=\"left\" colspan=\"3\">Total</th><th align=\"right\">{}</th></tr>\n</table>",
        escaped(&amount(order.lines.total(), currency))
    );
    if let Some(address) = order.shipping_address.as_ref().and_then(Personal::text) {
        let _ = writeln!(out, "<p>Shipping to: {}</p>", escaped(address));
    }
    for p in &content.closing {
        let _ = writeln!(out, "<p>{}</p>", escaped(p));
    }
    out.push_str("<p>orderflow</p>\n</body>\n</html>\n");
    out
}

/// The email of `kind` about `order`, to `to`. `detail` is the tracking number of a
/// shipped order, the recorded reason of a cancelled one.
pub fn compose(kind: NotificationKind, order: &OrderState, to: String, detail: &str) -> Email {
    let content = content(kind, order, detail);
    Email {
        message_id: message_id(kind, &order.order_id),
        to,
        subject: content.subject.clone(),
        text: text(&content, order),
        html: html(&content, order),
    }
}

#[cfg(test)]
mod tests {
    use orderflow_domain::order::{Order, OrderStatus};
    use orderflow_domain::testing::sample_created;
    use orderflow_domain::{Aggregate, Currency, Event};

    use super::*;

    fn usd_order() -> OrderState {
        let mut created = sample_created();
        if let Event::OrderCreated(e) = &mut created {
            e.currency = Currency::parse("USD").expect("a currency");
            e.shipping_address = Some(orderflow_domain::Personal::clear(
                &e.customer_id,
                "1 <Main> St",
            ));
        }
        let mut order = Order::default();
        order.apply(&created);
        order.state.expect("created")
    }

    #[test]
    fn the_received_email_lists_each_line_and_the_total_in_the_orders_currency() {
        let order = usd_order();
        let email = compose(NotificationKind::OrderReceived, &order, "c@x".into(), "");
        let line = &order.lines.lines()[0];
        let expected = format!(
            "  {} x {} at {} USD = {} USD",
            line.quantity.get(),
            line.sku,
            line.unit_price,
            line.unit_price.checked_mul(line.quantity).expect("fits")
        );
        assert!(email.text.lines().any(|l| l == expected), "{}", email.text);
        let total = format!("  Total: {} USD", order.lines.total());
        assert!(email.text.lines().any(|l| l == total), "{}", email.text);
        assert!(
            email
                .html
                .contains(&format!("{} USD</th>", order.lines.total()))
        );
        // What the customer typed is escaped in the HTML.
        assert!(email.html.contains("1 &lt;Main&gt; St"), "{}", email.html);
        assert_eq!(order.status, OrderStatus::Pending);
    }

    #[test]
    fn a_cancellation_tells_the_customer_why_without_the_shops_details() {
        let order = usd_order();
        let reason = "payment declined: amount 10000.02 exceeds the limit 10000.00";
        let email = compose(
            NotificationKind::OrderCancelled,
            &order,
            "c@x".into(),
            reason,
        );
        assert!(
            email.text.contains("payment was declined"),
            "{}",
            email.text
        );
        assert!(!email.text.contains("limit"), "{}", email.text);
        assert!(!email.html.contains("limit"), "{}", email.html);
    }

    #[test]
    fn a_shipped_email_gives_the_tracking_number() {
        let email = compose(
            NotificationKind::OrderShipped,
            &usd_order(),
            "c@x".into(),
            "TRK-9",
        );
        assert!(
            email.text.contains("Tracking number: TRK-9"),
            "{}",
            email.text
        );
        assert!(
            email.html.contains("Tracking number: TRK-9"),
            "{}",
            email.html
        );
    }
}
