//! A system id claimed from two addresses: not dispatched, nothing sent, the
//! rescue to the next drone at once; back when the claims stop or an admin binds it.

use mavlink_link::state::Contest;

use super::*;

fn claim(sim: &mut Sim, sysid: u8) {
    let t = sim.link_t;
    let v = sim.vehicle(sysid);
    v.bound_to = Some("127.0.0.1:14560".parse().unwrap_or_else(|e| panic!("{e}")));
    v.contested = Some(Contest {
        other: "127.0.0.1:9999".parse().unwrap_or_else(|e| panic!("{e}")),
        last_claim: t,
    });
}

#[test]
fn a_drone_claimed_from_two_addresses_is_not_launched_and_the_next_one_goes() {
    let mut sim = Sim::new();
    sim.start();
    claim(&mut sim, 11);
    sim.advance(0.5);
    let a = sim.alerts("claimed from two addresses");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1, Severity::Critical);
    assert!(
        a[0].2.contains("127.0.0.1:9999") && a[0].2.contains("/api/drones/yg-1/bind"),
        "{}",
        a[0].2
    );
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    assert_eq!(sim.serving(id), Some(drone("yg-2")));
    assert!(sim.action(11, "launch").is_none(), "nothing for yg-1");
    // No operator command goes to it either.
    let r = sim.reply(Request::Command {
        drone: drone("yg-1"),
        command: crate::core::DroneCommand::Rtl,
    });
    assert!(
        matches!(r, Reply::Command(Err(crate::core::ServiceError::Conflict(ref m))) if m.contains("two addresses")),
        "{r:?}"
    );
}

#[test]
fn a_contest_during_a_launch_stops_it_and_hands_the_rescue_over_at_once() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let (launch, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    claim(&mut sim, 11);
    sim.advance(0.5);
    assert!(
        sim.effects
            .iter()
            .any(|e| matches!(e, Effect::Abort(a) if *a == launch))
    );
    assert_eq!(
        sim.serving(id),
        Some(drone("yg-2")),
        "without waiting for the launch to fail"
    );
    assert_eq!(sim.duty("yg-1"), "idle");
}

#[test]
fn when_the_other_claims_stop_the_drone_is_back_in_service() {
    let mut sim = Sim::new();
    sim.start();
    claim(&mut sim, 11);
    sim.advance(0.5);
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    sim.advance(11.0);
    assert_eq!(sim.state("yg-1"), DroneState::Docked);
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Notice { message } if message.contains("no longer contested"))));
}

#[test]
fn an_admin_binds_a_contested_drone_to_one_address() {
    let mut sim = Sim::new();
    sim.start();
    claim(&mut sim, 11);
    sim.advance(0.5);
    let address = "127.0.0.1:14560".parse().unwrap_or_else(|e| panic!("{e}"));
    let (rid, _) = sim.request(Request::Bind {
        drone: drone("yg-1"),
        address,
    });
    let Some((aid, Action::Bind { address: a, .. })) = sim.action(11, "bind") else {
        panic!("no bind action");
    };
    assert_eq!(a, address);
    let out = sim.done(aid, ActionOutcome::Bound(Ok(())));
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Reply { to, reply: Reply::Command(Ok(_)) } if *to == rid))
    );
    // The link cleared the contest: the next telemetry says so.
    sim.vehicle(11).contested = None;
    sim.advance(0.5);
    assert_eq!(sim.state("yg-1"), DroneState::Docked, "dispatchable again");
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Command { command, ok: true, .. } if command == "bind")));
}

#[test]
fn a_second_claim_while_flying_our_mission_keeps_the_address_that_flies_it() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    claim(&mut sim, 11);
    sim.advance(0.5);
    // No hand-over: the bound address has flown what we uploaded.
    assert_eq!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.duty("yg-1"), "flying");
    let a = sim.alerts("stays bound to 127.0.0.1:14560");
    assert_eq!(a.len(), 1, "{:?}", sim.alerts(""));
    let Some((aid, Action::Bind { address, .. })) = sim.action(11, "bind") else {
        panic!("not pinned");
    };
    assert_eq!(address.to_string(), "127.0.0.1:14560");
    let out = sim.done(aid, ActionOutcome::Bound(Ok(())));
    assert!(
        !out.iter().any(|e| matches!(e, Effect::Reply { .. })),
        "nobody to answer"
    );
}
