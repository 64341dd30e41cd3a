//! Wind in the fleet: the vehicles' reports reach the plan, weather
//! reports are checked and logged, a drone in too much wind comes home.

use dispatch_core::model::IncidentKind;
use dispatch_core::{HangarId, IncidentStatus, Wind};
use mavlink_link::state::WindReport;

use super::super::protocol::WeatherReport;
use super::{IN_THE_RIVER, Reply, Request, Sim, drone};
use crate::events::What;

fn blow(sim: &mut Sim, speed_mps: f64, from_deg: f64) {
    let at = sim.link_t;
    for v in sim.vehicles.values_mut() {
        v.wind = Some(WindReport {
            speed_mps,
            from_deg,
            vertical_mps: 0.0,
            at,
        });
    }
}

fn eta_s(sim: &mut Sim) -> f64 {
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let rec = sim
        .core
        .dispatcher()
        .incident(id)
        .unwrap_or_else(|| panic!("no incident"));
    let a = rec.assignment.as_ref().unwrap_or_else(|| panic!("{rec:?}"));
    a.chosen.eta_s
}

#[test]
fn the_docked_vehicles_reports_slow_the_plan_into_a_headwind() {
    let mut calm = Sim::new();
    calm.start();
    let still = eta_s(&mut calm);

    let mut sim = Sim::new();
    sim.start();
    blow(&mut sim, 8.0, 248.0);
    sim.advance(1.0);
    let windy = eta_s(&mut sim);
    assert!(windy > still + 20.0, "{windy} s in wind, {still} s calm");
}

#[test]
fn too_much_wind_at_the_hangars_holds_a_rescue_with_the_reason() {
    let mut sim = Sim::new();
    sim.start();
    blow(&mut sim, 14.0, 248.0);
    sim.advance(1.0);
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    assert_eq!(sim.status(id), IncidentStatus::Queued);
    let reason = sim
        .core
        .dispatcher()
        .incident(id)
        .and_then(|r| r.incident.reason.clone())
        .unwrap_or_default();
    assert!(reason.contains("wind 14.0 m/s"), "{reason}");
    assert!(reason.contains("12.0 m/s"), "{reason}");
    assert!(sim.action(11, "launch").is_none());
}

#[test]
fn a_drone_measuring_wind_over_its_limit_is_called_home_and_the_rescue_handed_over() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    // yg-1 meets a squall the others do not report.
    let at = sim.link_t;
    sim.vehicle(11).wind = Some(WindReport {
        speed_mps: 16.0,
        from_deg: 248.0,
        vertical_mps: 0.0,
        at,
    });
    sim.advance(0.5);
    assert_eq!(sim.alerts("over its limits").len(), 1, "{:?}", sim.events());
    assert_eq!(sim.duty("yg-1"), "homing");
    assert!(sim.action(11, "home").is_some());
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn weather_reports_are_checked_whole_then_logged_and_used() {
    let mut sim = Sim::new();
    sim.start();
    let good = WeatherReport {
        hangar: Some(HangarId("yanguan".into())),
        wind: Wind {
            speed_mps: 9.0,
            from_deg: 248.0,
        },
        gust_mps: Some(11.0),
        at: None,
    };
    let unknown = WeatherReport {
        hangar: Some(HangarId("atlantis".into())),
        ..good.clone()
    };
    let r = sim.reply(Request::Weather(vec![good.clone(), unknown]));
    assert!(
        matches!(&r, Reply::Fed(Err(e)) if e.to_string().contains("report 1: unknown hangar `atlantis`")),
        "{r:?}"
    );
    assert!(sim.core.dispatcher().world().wind().is_empty());
    let future = WeatherReport {
        at: Some(sim.now + chrono::TimeDelta::hours(1)),
        ..good.clone()
    };
    assert!(matches!(
        sim.reply(Request::Weather(vec![future])),
        Reply::Fed(Err(_))
    ));
    assert!(matches!(
        sim.reply(Request::Weather(vec![good])),
        Reply::Fed(Ok(()))
    ));
    let notices: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.what {
            What::Notice { message } if message.starts_with("weather:") => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("9.0 m/s from 248° gusting 11.0"),
        "{notices:?}"
    );
    let Reply::Wind(view) = sim.reply(Request::Wind) else {
        panic!("no wind view")
    };
    let yanguan = view
        .hangars
        .iter()
        .find(|h| h.0.0 == "yanguan")
        .and_then(|h| h.2.clone())
        .unwrap_or_else(|| panic!("no wind at yanguan"));
    assert!((yanguan.wind.speed_mps - 9.0).abs() < 1e-9);
    assert_eq!(yanguan.gust_mps, 11.0);
}
