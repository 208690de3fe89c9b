//! DOI states and the events that move between them (CONTRACT §4).

/// Stored with each DOI, so its type lives with the rows in `db::dois`.
pub use crate::db::dois::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Register,
    Publish,
    Hide,
    Show,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Register => "register",
            Event::Publish => "publish",
            Event::Hide => "hide",
            Event::Show => "show",
        }
    }

    pub fn parse(s: &str) -> Option<Event> {
        match s {
            "register" => Some(Event::Register),
            "publish" => Some(Event::Publish),
            "hide" => Some(Event::Hide),
            "show" => Some(Event::Show),
            _ => None,
        }
    }
}

/// The state `event` leads to from `from`, or `None` when the event does not apply there
/// (DataCite then leaves the DOI as it is rather than failing the request).
pub fn transition(from: State, event: Event) -> Option<State> {
    use {Event::*, State::*};
    match (from, event) {
        (Draft, Register) => Some(Registered),
        (Draft | Registered, Publish) => Some(Findable),
        (Findable, Hide) => Some(Registered),
        (Registered, Show) => Some(Findable),
        _ => None,
    }
}

/// Like `transition`, but an event that does not apply keeps the state.
pub fn after(from: State, event: Event) -> State {
    transition(from, event).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use {Event::*, State::*};

    #[test]
    fn contract_transitions() {
        assert_eq!(transition(Draft, Register), Some(Registered));
        assert_eq!(transition(Draft, Publish), Some(Findable));
        assert_eq!(transition(Registered, Publish), Some(Findable));
        assert_eq!(transition(Findable, Hide), Some(Registered));
        assert_eq!(transition(Registered, Show), Some(Findable));
    }

    #[test]
    fn other_events_do_not_apply() {
        for (s, e) in [
            (Draft, Hide),
            (Draft, Show),
            (Registered, Register),
            (Registered, Hide),
            (Findable, Register),
            (Findable, Publish),
            (Findable, Show),
        ] {
            assert_eq!(transition(s, e), None, "{s:?} {e:?}");
            assert_eq!(after(s, e), s);
        }
    }

    #[test]
    fn names_round_trip() {
        for s in [Draft, Registered, Findable] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for e in [Register, Publish, Hide, Show] {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
        assert_eq!(State::parse("Findable"), None);
        assert_eq!(Event::parse("delete"), None);
    }
}
