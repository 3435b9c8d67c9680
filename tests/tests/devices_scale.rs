//! Scale driver end to end against simulated scales on real pseudo-terminals, one or more
//! scenarios per protocol. No mocks: the driver reads and writes a real tty.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use stockpost_agent::devices::scale::{ScaleDriver, ScaleHandle, ScaleOptions, ScaleSnapshot};
use stockpost_agent::devices::{BackoffConfig, Connector, DeviceStatus, LinkState};
use stockpost_common::scale::{
    DeviceErrorSource, ScaleCondition, ScaleProtocol, StabilityRule, WeightUnit,
};
use stockpost_tests::sim::scale::{frames, ContinuousScaleSim, PolledScaleSim, PolledScript};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(20);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn options(protocol: ScaleProtocol) -> ScaleOptions {
    ScaleOptions {
        poll_interval: Duration::from_millis(10),
        response_timeout: Duration::from_millis(300),
        backoff: BackoffConfig {
            initial_ms: 10,
            max_ms: 100,
        },
        ..ScaleOptions::new(protocol)
    }
}

async fn reading_where(
    h: &mut ScaleHandle,
    what: &str,
    f: impl Fn(&ScaleSnapshot) -> bool,
) -> ScaleSnapshot {
    let got = timeout(WAIT, h.reading.wait_for(|s| s.as_ref().is_some_and(&f)))
        .await
        .ok()
        .and_then(|r| r.ok().map(|s| s.clone()))
        .flatten();
    match got {
        Some(snapshot) => snapshot,
        None => panic!("no reading where {what}; last: {:?}", *h.reading.borrow()),
    }
}

async fn status_where(h: &mut ScaleHandle, what: &str, f: impl Fn(&DeviceStatus) -> bool) {
    let got = timeout(WAIT, h.status.wait_for(f)).await.is_ok();
    assert!(
        got,
        "no status where {what}; last: {:?}",
        *h.status.borrow()
    );
}

fn weighs(s: &ScaleSnapshot, value: &str) -> bool {
    s.reading.value == Some(d(value))
}

fn polled(fallback: Vec<u8>) -> PolledScript {
    PolledScript {
        fallback,
        ..PolledScript::default()
    }
}

// ---------------------------------------------------------------- MT-SICS

#[tokio::test]
async fn an_mt_sics_balance_is_reset_with_at_then_polled_with_si() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S     100.00 g")),
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "100.00 g stable", |s| {
        weighs(s, "100.00") && s.stable
    })
    .await;
    assert_eq!(s.reading.unit, WeightUnit::G);
    assert!(s.is_fresh_and_stable(Duration::from_secs(1)));
    let commands = sim.commands();
    assert_eq!(commands[0], b"@");
    assert_eq!(commands[1], b"SI");
}

#[tokio::test]
async fn an_mt_sics_dynamic_answer_is_polled_again_until_stable() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let mut script = polled(frames::mt("S S     130.00 g"));
    script.replies.push_back(frames::mt("S D     129.07 g"));
    script.replies.push_back(frames::mt("S D     129.95 g"));
    let sim = PolledScaleSim::plug(&plug, ScaleProtocol::MtSics, script)
        .await
        .unwrap();
    let s = reading_where(&mut h, "130.00 g", |s| weighs(s, "130.00")).await;
    assert!(s.stable);
    assert!(s.seq >= 3, "two dynamic readings were published first");
    assert!(
        sim.commands()
            .iter()
            .filter(|c| c.as_slice() == b"SI")
            .count()
            >= 3
    );
}

#[tokio::test]
async fn an_mt_sics_overload_is_a_condition_not_a_crash() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let sim = PolledScaleSim::plug(&plug, ScaleProtocol::MtSics, polled(frames::mt("S +")))
        .await
        .unwrap();
    let s = reading_where(&mut h, "overload", |s| {
        s.reading.condition == ScaleCondition::Overload
    })
    .await;
    assert_eq!(s.reading.value, None);
    assert!(!s.stable);
    sim.with(|s| s.fallback = frames::mt("S S      2.500 kg"));
    reading_where(&mut h, "2.5 kg after the overload", |s| weighs(s, "2.5")).await;
}

#[tokio::test]
async fn an_mt_sics_syntax_error_is_reported_and_polling_goes_on() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let sim = PolledScaleSim::plug(&plug, ScaleProtocol::MtSics, polled(frames::mt("ES")))
        .await
        .unwrap();
    status_where(&mut h, "an ES error", |s| {
        s.last_error.as_deref().is_some_and(|e| e.contains("ES"))
    })
    .await;
    assert!(h.stats().device_errors >= 1);
    sim.with(|s| s.fallback = frames::mt("S S      1.000 kg"));
    reading_where(&mut h, "1 kg", |s| weighs(s, "1")).await;
    assert_eq!(
        h.status.borrow().connections,
        1,
        "an ES does not drop the link"
    );
}

#[tokio::test]
async fn an_unsolicited_power_up_line_between_polls_is_ignored() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S      0.500 kg")),
    )
    .await
    .unwrap();
    reading_where(&mut h, "0.5 kg", |s| weighs(s, "0.5")).await;
    sim.with(|s| {
        s.unsolicited = Some(frames::mt("I4 A \"B021002593\""));
        s.replies.push_back(frames::mt("S S      0.750 kg"));
    });
    reading_where(&mut h, "0.75 kg", |s| weighs(s, "0.75")).await;
    assert_eq!(h.stats().frame_errors, 0);
    assert_eq!(h.stats().device_errors, 0);
}

#[tokio::test]
async fn an_mt_sics_device_error_in_the_weight_field_surfaces_as_a_condition() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let _sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S  Error 10b")),
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "a device error", |s| {
        matches!(s.reading.condition, ScaleCondition::DeviceError { .. })
    })
    .await;
    assert_eq!(
        s.reading.condition,
        ScaleCondition::DeviceError {
            code: 10,
            source: DeviceErrorSource::WeighModule
        }
    );
    assert!(!s.is_fresh_and_stable(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_silent_scale_times_out_and_the_link_is_reopened() {
    let mut o = options(ScaleProtocol::MtSics);
    o.response_timeout = Duration::from_millis(50);
    o.max_consecutive_timeouts = 2;
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(o, connector);
    let mut script = polled(frames::mt("S S      1.000 kg"));
    script.silent = true;
    let silent = PolledScaleSim::plug(&plug, ScaleProtocol::MtSics, script)
        .await
        .unwrap();
    status_where(&mut h, "the link dropped after timeouts", |s| {
        s.link != LinkState::Connected
            && s.last_error
                .as_deref()
                .is_some_and(|e| e.contains("no answer"))
    })
    .await;
    assert!(h.stats().timeouts >= 2);
    assert!(h.reading.borrow().is_none());
    drop(silent);
    let _sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S      1.000 kg")),
    )
    .await
    .unwrap();
    reading_where(&mut h, "1 kg after reopening", |s| weighs(s, "1")).await;
    assert_eq!(h.status.borrow().connections, 2);
}

#[tokio::test]
async fn an_unplugged_scale_is_reconnected() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::MtSics), connector);
    let sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S      1.000 kg")),
    )
    .await
    .unwrap();
    reading_where(&mut h, "1 kg", |s| weighs(s, "1")).await;
    sim.unplug();
    status_where(&mut h, "disconnected", |s| {
        s.link != LinkState::Connected && s.connections == 1
    })
    .await;
    let _sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::MtSics,
        polled(frames::mt("S S      2.000 kg")),
    )
    .await
    .unwrap();
    reading_where(&mut h, "2 kg from the replugged scale", |s| weighs(s, "2")).await;
    assert_eq!(h.status.borrow().connections, 2);
}

// ---------------------------------------------------------------- Toledo continuous

#[tokio::test]
async fn a_continuous_scale_reports_the_newest_frame_not_the_backlog() {
    let mut o = options(ScaleProtocol::Toledo);
    o.decoder.toledo_checksum = true;
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(o, connector);
    let backlog: Vec<u8> = (0..100)
        .flat_map(|i| frames::toledo(1000 + i, 0, 0))
        .collect();
    let _sim = ContinuousScaleSim::plug(&plug, &backlog, frames::toledo(12345, 0, 0), TICK)
        .await
        .unwrap();
    let first = timeout(WAIT, h.reading.wait_for(|s| s.is_some()))
        .await
        .unwrap()
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(
        first.reading.value,
        Some(d("12.345")),
        "the first published reading is the live one"
    );
    assert_eq!(first.reading.unit, WeightUnit::Kg);
    assert!(first.stable);
}

#[tokio::test]
async fn a_toledo_frame_in_motion_is_not_stable_until_the_motion_bit_clears() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Toledo), connector);
    let sim = ContinuousScaleSim::plug(
        &plug,
        &[],
        frames::toledo(500, 1000, frames::MOTION | frames::NET | frames::NEGATIVE),
        TICK,
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "-0.5 kg net in motion", |s| weighs(s, "-0.5")).await;
    assert!(!s.stable);
    assert_eq!(s.reading.net, Some(true));
    assert_eq!(s.reading.tare, Some(d("1")));
    sim.set_frame(frames::toledo(750, 0, 0));
    let s = reading_where(&mut h, "0.75 kg", |s| weighs(s, "0.75")).await;
    assert!(s.stable);
}

#[tokio::test]
async fn a_toledo_out_of_range_frame_carries_no_value() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Toledo), connector);
    let _sim = ContinuousScaleSim::plug(
        &plug,
        &[],
        frames::toledo(999_999, 0, frames::OUT_OF_RANGE),
        TICK,
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "out of range", |s| {
        s.reading.condition == ScaleCondition::OutOfRange
    })
    .await;
    assert_eq!(s.reading.value, None);
    assert!(!s.stable);
}

#[tokio::test]
async fn toledo_frames_with_a_bad_checksum_or_garbage_are_dropped() {
    let mut o = options(ScaleProtocol::Toledo);
    o.decoder.toledo_checksum = true;
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(o, connector);
    let mut bad = b"\xff\x00noise".to_vec();
    bad.extend(frames::toledo_bad_checksum(9999));
    let sim = ContinuousScaleSim::plug(&plug, &[], bad, TICK)
        .await
        .unwrap();
    status_where(&mut h, "dropped frames reported", |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("dropped"))
    })
    .await;
    assert!(
        h.reading.borrow().is_none(),
        "a frame failing its checksum is never published"
    );
    sim.set_frame(frames::toledo(3000, 0, 0));
    reading_where(&mut h, "3 kg", |s| weighs(s, "3")).await;
    assert!(h.stats().frame_errors >= 1);
}

// ---------------------------------------------------------------- NCI

#[tokio::test]
async fn an_nci_scale_answers_w_with_weight_and_status() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Nci), connector);
    let mut script = polled(frames::nci("0012.34lb", "00"));
    script.replies.push_back(frames::nci("0012.30lb", "10"));
    let sim = PolledScaleSim::plug(&plug, ScaleProtocol::Nci, script)
        .await
        .unwrap();
    let s = reading_where(&mut h, "12.34 lb", |s| weighs(s, "12.34")).await;
    assert!(s.stable);
    assert_eq!(s.reading.unit, WeightUnit::Lb);
    assert!(s.seq >= 2, "the motion reply was published first");
    assert!(sim.commands().iter().all(|c| c.as_slice() == b"W"));
}

#[tokio::test]
async fn an_nci_over_capacity_reply_is_an_overload() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Nci), connector);
    let _sim = PolledScaleSim::plug(
        &plug,
        ScaleProtocol::Nci,
        polled(frames::nci("^^^^^^^lb", "02")),
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "overload", |s| {
        s.reading.condition == ScaleCondition::Overload
    })
    .await;
    assert_eq!(s.reading.value, None);
}

// ---------------------------------------------------------------- CAS

#[tokio::test]
async fn a_cas_ecr_scale_is_polled_with_enq_ack_dc1_and_a_nak_is_retried() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::CasEcr), connector);
    let mut script = polled(frames::cas_ecr(b'S', b' ', "01.234", "kg"));
    script.enq_replies.push_back(0x15); // NAK first
    let sim = PolledScaleSim::plug(&plug, ScaleProtocol::CasEcr, script)
        .await
        .unwrap();
    let s = reading_where(&mut h, "1.234 kg", |s| weighs(s, "1.234")).await;
    assert!(s.stable);
    let commands = sim.commands();
    assert_eq!(
        &commands[..3],
        &[vec![0x05], vec![0x05], vec![0x11]],
        "ENQ, NAK → ENQ, ACK → DC1"
    );
}

#[tokio::test]
async fn a_cas_ecr_frame_with_a_bad_bcc_is_not_published() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::CasEcr), connector);
    let mut bad = frames::cas_ecr(b'S', b' ', "09.999", "kg");
    let at = bad.len() - 3;
    bad[at] ^= 0x01;
    let mut script = polled(frames::cas_ecr(b'U', b'-', "00.120", "kg"));
    script.replies.push_back(bad);
    let _sim = PolledScaleSim::plug(&plug, ScaleProtocol::CasEcr, script)
        .await
        .unwrap();
    let s = reading_where(&mut h, "-0.12 kg", |s| weighs(s, "-0.12")).await;
    assert!(!s.stable);
    assert_eq!(s.seq, 1, "the bad frame was never published");
    assert!(h.stats().frame_errors >= 1);
}

#[tokio::test]
async fn a_cas_22_byte_indicator_stream_is_read() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Cas22), connector);
    let _sim = ContinuousScaleSim::plug(
        &plug,
        &[],
        frames::cas22("ST", "GS", 0xC4, "0001.234", " kg"),
        TICK,
    )
    .await
    .unwrap();
    let s = reading_where(&mut h, "1.234 kg", |s| weighs(s, "1.234")).await;
    assert!(s.stable);
    assert_eq!(s.reading.net, Some(false));
}

// ---------------------------------------------------------------- generic

#[tokio::test]
async fn a_generic_indicator_reports_motion_then_overload() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(options(ScaleProtocol::Generic), connector);
    let sim = ContinuousScaleSim::plug(&plug, &[], frames::generic("US,NT,-0000.120kg"), TICK)
        .await
        .unwrap();
    let s = reading_where(&mut h, "-0.12 kg", |s| weighs(s, "-0.12")).await;
    assert!(!s.stable);
    assert_eq!(s.reading.net, Some(true));
    sim.set_frame(frames::generic("OL,GS,+9999.999kg"));
    let s = reading_where(&mut h, "overload", |s| {
        s.reading.condition == ScaleCondition::Overload
    })
    .await;
    assert_eq!(s.reading.value, None);
}

#[tokio::test]
async fn with_the_consecutive_rule_a_weight_is_stable_only_after_n_equal_frames() {
    let mut o = options(ScaleProtocol::Generic);
    o.stability = StabilityRule::ConsecutiveEqual(3);
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScaleDriver::spawn(o, connector);
    // The flag says stable on every frame; the rule ignores it and counts equal frames.
    let _sim = ContinuousScaleSim::plug(&plug, &[], frames::generic("ST,GS,+0001.234kg"), TICK)
        .await
        .unwrap();
    let first = reading_where(&mut h, "any", |_| true).await;
    assert!(!first.stable || first.seq >= 3);
    let s = reading_where(&mut h, "stable", |s| s.stable).await;
    assert!(s.seq >= 3);
}
