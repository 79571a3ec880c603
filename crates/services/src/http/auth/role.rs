//! The roles a token may have, each including the ones below it.

/// What a token may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Place and read orders, read stock and the schema registry.
    Shop,
    /// Also stock, cancellations, consumers, the pipeline, analytics and registry writes.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Shop => "shop",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shop" => Ok(Role::Shop),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: the roles are shop, operator and admin"
            )),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below_them() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Shop);
        assert_eq!("operator".parse(), Ok(Role::Operator));
        assert!("Operator".parse::<Role>().is_err());
    }
}
