pub mod coerce;
