use super::*;

#[test]
fn a_new_customer_id_must_be_one_the_shop_can_write_to() {
    for good in ["c-1", "anna.berg", "x_9"] {
        assert!(CustomerId::parse_mailable(good).is_ok(), "{good}");
    }
    for bad in ["a:b", ":", ".x", "x.", "a..b"] {
        assert!(CustomerId::parse(bad).is_ok(), "{bad} stays readable");
        assert!(CustomerId::parse_mailable(bad).is_err(), "{bad}");
    }
}

#[test]
fn money_is_parsed_from_major_units_to_cents() {
    assert_eq!(Money::from_major(19.99).unwrap().minor(), 1999);
    assert_eq!(Money::from_major(0.0).unwrap().minor(), 0);
    assert_eq!(Money::from_major(19.99).unwrap().to_string(), "19.99");
}

#[test]
fn money_refuses_negative_fractional_cents_and_nan() {
    assert!(Money::from_major(-1.0).is_err());
    assert!(Money::from_major(1.005).is_err());
    assert!(Money::from_major(f64::NAN).is_err());
    assert!(Money::from_major(1e300).is_err());
}

fn cents(text: &str) -> Result<i64, DomainError> {
    Money::parse_decimal(text).map(Money::minor)
}

/// Why `text` is refused; an error when it is accepted.
fn refusal(text: &str) -> Result<String, String> {
    match Money::parse_decimal(text) {
        Ok(m) => Err(format!("{text} was accepted as {m}")),
        Err(e) => Ok(e.to_string()),
    }
}

#[test]
fn a_decimal_amount_is_read_exactly_to_the_cent() -> Result<(), String> {
    let cases = [
        ("19.99", 1999),
        ("0", 0),
        ("-0", 0),
        ("0.000", 0),
        ("0e-999", 0),
        ("5", 500),
        ("1.5", 150),
        ("1.500", 150),
        ("0.01", 1),
        ("1.5e1", 1500),
        ("1999E-2", 1999),
        ("1e+2", 10000),
        ("100000000000", 10_000_000_000_000),
        ("99999999999.99", 9_999_999_999_999),
    ];
    for (text, expected) in cases {
        assert_eq!(cents(text).map_err(|e| e.to_string())?, expected, "{text}");
    }
    Ok(())
}

#[test]
fn a_decimal_amount_below_the_cent_is_refused_not_rounded() -> Result<(), String> {
    for text in [
        "0.000000001",
        "1.0000001",
        "99999999999.999",
        "1.005",
        "0.001",
        "1e-3",
        "1e-99999999999999999999",
    ] {
        let why = refusal(text)?;
        assert!(why.contains("has more than two decimals"), "{text}: {why}");
    }
    Ok(())
}

#[test]
fn a_decimal_amount_that_is_negative_too_large_or_not_a_number_is_refused() -> Result<(), String> {
    assert!(refusal("-0.01")?.contains("must not be negative"));
    assert!(refusal("100000000000.01")?.contains("is too large"));
    assert!(refusal("1e12")?.contains("is too large"));
    assert!(refusal("1e99999999999999999999")?.contains("is too large"));
    assert!(refusal(&"9".repeat(400))?.contains("is too large"));
    for text in [
        "", "-", "1.", ".5", "01", "1e", "1e+", "+1", "1,5", "NaN", "\"1\"", "0x10",
    ] {
        let why = refusal(text)?;
        assert!(why.contains("is not a decimal number"), "{text}: {why}");
    }
    Ok(())
}

#[test]
fn a_refused_amount_is_quoted_abbreviated() -> Result<(), String> {
    let long = format!("1.{}1", "0".repeat(100));
    let message = refusal(&long)?;
    assert!(message.len() < 100, "{message}");
    assert!(message.contains('…'), "{message}");
    Ok(())
}

#[test]
fn quantity_must_be_at_least_one() {
    assert!(Quantity::new(0).is_err());
    assert!(Quantity::new(-3).is_err());
    assert_eq!(Quantity::new(2).unwrap().get(), 2);
}

#[test]
fn identifiers_refuse_empty_and_odd_characters() {
    assert!(Sku::parse("").is_err());
    assert!(Sku::parse("a b").is_err());
    assert!(Sku::parse("x".repeat(65)).is_err());
    assert_eq!(Sku::parse("SKU-1").unwrap().as_str(), "SKU-1");
}

#[test]
fn an_order_needs_at_least_one_line_and_sums_its_total() {
    assert_eq!(OrderLines::new(vec![]), Err(DomainError::NoItems));
    let lines = OrderLines::new(vec![
        OrderLine {
            sku: Sku::parse("A").unwrap(),
            quantity: Quantity::new(2).unwrap(),
            unit_price: Money::from_major(19.99).unwrap(),
        },
        OrderLine {
            sku: Sku::parse("B").unwrap(),
            quantity: Quantity::new(1).unwrap(),
            unit_price: Money::from_major(0.02).unwrap(),
        },
    ])
    .unwrap();
    assert_eq!(lines.total().minor(), 4000);
}

#[test]
fn a_currency_is_exactly_three_upper_case_letters() -> Result<(), DomainError> {
    for code in ["EUR", "USD", "JPY"] {
        assert_eq!(Currency::parse(code)?.as_str(), code);
    }
    for bad in ["", "EU", "EURO", "USDX", "eur", "Usd", "E1R", "EU "] {
        assert!(Currency::parse(bad).is_err(), "{bad:?} was accepted");
    }
    Ok(())
}

#[test]
fn an_order_that_names_no_currency_is_in_euros() {
    assert_eq!(Currency::default_currency().as_str(), "EUR");
}

#[test]
fn the_largest_amount_is_accepted_however_it_is_written_and_a_cent_more_is_not()
-> Result<(), String> {
    for text in [
        "100000000000",
        "100000000000.00",
        "1e11",
        "10000000000000e-2",
        "0.1e12",
    ] {
        assert_eq!(
            cents(text).map_err(|e| e.to_string())?,
            10_000_000_000_000,
            "{text}"
        );
    }
    for text in [
        "100000000000.01",
        "10000000000001e-2",
        "100000000001",
        "1e12",
    ] {
        let why = refusal(text)?;
        assert!(why.contains("is too large"), "{text}: {why}");
    }
    Ok(())
}

#[test]
fn a_zero_exponent_leaves_the_amount_as_written() -> Result<(), DomainError> {
    for (text, expected) in [
        ("1e0", 100),
        ("1E+0", 100),
        ("1.5e-0", 150),
        ("19.99e000", 1999),
    ] {
        assert_eq!(cents(text)?, expected, "{text}");
    }
    Ok(())
}

#[test]
fn a_double_amount_is_accepted_up_to_the_largest_amount_and_not_past_it() -> Result<(), DomainError>
{
    assert_eq!(
        Money::from_major(100_000_000_000.0)?.minor(),
        10_000_000_000_000
    );
    assert_eq!(
        Money::from_major(99_999_999_999.99)?.minor(),
        9_999_999_999_999
    );
    let too_large = Money::from_major(100_000_000_000.01).map(Money::minor);
    assert!(
        matches!(&too_large, Err(e) if e.to_string().contains("is too large")),
        "{too_large:?}"
    );
    Ok(())
}

/// A double holds no exact decimal, so `from_major` allows an error of 10⁻⁶ of the
/// amount: 156.25015625 and 156.24984375 are doubles exactly 0.015625 cent (10⁻⁶ of
/// 15625 cents) off 156.25.
#[test]
fn a_double_may_miss_the_cent_by_a_millionth_of_the_amount_and_no_more() -> Result<(), DomainError>
{
    assert_eq!(Money::from_major(156.250_156_25)?.minor(), 15625);
    assert_eq!(Money::from_major(156.249_843_75)?.minor(), 15625);
    for past in [156.250_156_26, 156.249_843_74] {
        let refused = Money::from_major(past).map(Money::minor);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("has more than two decimals")),
            "{past}: {refused:?}"
        );
    }
    Ok(())
}

#[test]
fn an_amount_goes_on_the_wire_in_major_units_and_is_read_back_to_the_cent()
-> Result<(), DomainError> {
    assert_eq!(Money::from_minor(1999)?.to_major().to_string(), "19.99");
    for minor in [0, 1, 10, 1999, 4000, 9_999_999_999_999, 10_000_000_000_000] {
        let money = Money::from_minor(minor)?;
        assert_eq!(Money::from_major(money.to_major())?, money, "{money}");
    }
    Ok(())
}

fn order_line(sku: &str, quantity: i64, unit_price: i64) -> Result<OrderLine, DomainError> {
    Ok(OrderLine {
        sku: Sku::parse(sku)?,
        quantity: Quantity::new(quantity)?,
        unit_price: Money::from_minor(unit_price)?,
    })
}

#[test]
fn an_order_keeps_its_lines_in_order_and_reserves_each_lines_units() -> Result<(), DomainError> {
    let given = vec![order_line("B", 2, 1999)?, order_line("A", 1, 2)?];
    let lines = OrderLines::new(given.clone())?;
    assert_eq!(lines.lines(), given.as_slice());
    let stock = lines.stock_lines();
    let reserved: Vec<(&str, u32)> = stock
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity.get()))
        .collect();
    assert_eq!(reserved, [("B", 2), ("A", 1)]);
    Ok(())
}
