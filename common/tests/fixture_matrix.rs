//! The device fixture matrix of devices.md §4.6, driven through the public API the way a driver
//! would use it: bytes in (in awkward chunks), messages out.

use rust_decimal::Decimal;
use stockpost_common::label::host_status::{parse_host_status, PrinterProblem};
use stockpost_common::scale::cas::{EcrMessage, EcrPoll, EcrStep};
use stockpost_common::scale::mt_sics::{Command, GeneralError, Response, Status};
use stockpost_common::scale::toledo::checksum_for;
use stockpost_common::scale::{
    DecoderOptions, Framer, FramerOptions, ScaleCondition, ScaleDecoder, ScaleMessage,
    ScaleProtocol, Stability, StabilityRule, WeightReading,
};
use stockpost_common::scanner_framing::{ScannerFramer, ScannerFramingConfig};

fn decode_all(protocol: ScaleProtocol, options: DecoderOptions, bytes: &[u8]) -> Vec<ScaleMessage> {
    let mut dec = ScaleDecoder::new(protocol, options);
    let mut out = Vec::new();
    for chunk in bytes.chunks(3) {
        dec.push(chunk);
        while let Some(m) = dec.next_message() {
            if let Ok(m) = m {
                out.push(m);
            }
        }
    }
    out
}

fn readings(messages: &[ScaleMessage]) -> Vec<WeightReading> {
    messages.iter().filter_map(ScaleMessage::reading).collect()
}

fn kg(r: &WeightReading) -> Option<Decimal> {
    r.value_kg().ok()
}

#[test]
fn mt_sics_dynamic_then_stable_then_an_unsolicited_serial_number_and_errors() {
    let wire = b"S D     99.98 g\r\nS S    100.00 g\r\nI4 A \"B021002593\"\r\nS I\r\nS +\r\nES\r\nEL\r\nS S  Error 10b\r\n";
    let messages = decode_all(ScaleProtocol::MtSics, DecoderOptions::default(), wire);
    assert_eq!(messages.len(), 8);
    let r = readings(&messages);
    assert!(!r[0].stable);
    assert!(r[1].stable);
    assert_eq!(kg(&r[1]), Some(Decimal::new(1, 1)));
    assert!(
        matches!(&messages[2], ScaleMessage::MtSics(m) if m.serial_number() == Some("B021002593"))
    );
    assert!(matches!(
        &messages[3],
        ScaleMessage::MtSics(Response::Status {
            status: Status::NotExecutable,
            ..
        })
    ));
    assert_eq!(r[2].condition, ScaleCondition::Overload);
    assert!(matches!(
        &messages[5],
        ScaleMessage::MtSics(Response::Error(GeneralError::Syntax))
    ));
    assert!(matches!(
        &messages[6],
        ScaleMessage::MtSics(Response::Error(GeneralError::Logic))
    ));
    assert!(matches!(
        r[3].condition,
        ScaleCondition::DeviceError { code: 10, .. }
    ));
}

#[test]
fn an_mt_sics_sir_stream_interrupted_by_reset_ends_with_the_serial_number() {
    assert_eq!(Command::Reset.encode().ok(), Some(b"@\r\n".to_vec()));
    let mut wire = Vec::new();
    for i in 0..20 {
        wire.extend_from_slice(format!("S D {:>10} g\r\n", format!("{}.0", 100 + i)).as_bytes());
    }
    wire.extend_from_slice(b"I4 A \"B021002593\"\r\n");
    let messages = decode_all(ScaleProtocol::MtSics, DecoderOptions::default(), &wire);
    assert_eq!(readings(&messages).len(), 20);
    assert!(
        matches!(messages.last(), Some(ScaleMessage::MtSics(m)) if m.serial_number() == Some("B021002593"))
    );
}

#[test]
fn an_mt_sics_line_cut_by_a_reset_is_dropped_without_losing_the_stream() {
    // A line cut mid-way merges with the next one and fails to parse; the stream goes on.
    let wire = b"S D     12I4 A \"B021002593\"\r\nS S     12.00 g\r\n";
    let mut dec = ScaleDecoder::new(ScaleProtocol::MtSics, DecoderOptions::default());
    dec.push(wire);
    assert!(matches!(dec.next_message(), Some(Err(e)) if e.field == "weight"));
    assert!(dec.next_message().is_some_and(|m| m.is_ok()));
}

#[test]
fn toledo_frames_at_10_hz_with_a_backlog_yield_the_newest_with_garbage_and_bad_checksums_dropped() {
    let frame = |weight: &[u8; 6], swb: u8| {
        let mut f = vec![0x02, 0x2D, swb, 0x20];
        f.extend_from_slice(weight);
        f.extend_from_slice(b"000000\r");
        let c = checksum_for(&f);
        f.push(c);
        f
    };
    let mut wire = b"\x00\xffnoise".to_vec();
    wire.extend(frame(b"001000", 0x38)); // motion
    let mut bad = frame(b"001500", 0x30);
    bad[17] ^= 0x01;
    wire.extend(bad);
    wire.extend(frame(b"002000", 0x30));
    let options = DecoderOptions {
        toledo_checksum: true,
        ..DecoderOptions::default()
    };
    let mut dec = ScaleDecoder::new(ScaleProtocol::Toledo, options);
    dec.push(&wire);
    let latest = dec.latest_reading();
    assert_eq!(latest.as_ref().and_then(kg), Some(Decimal::new(2, 0)));
    assert!(latest.is_some_and(|r| r.stable));
    assert_eq!(dec.stats().dropped_frames, 1);
}

#[test]
fn nci_replies_for_stable_motion_over_under_and_unknown() {
    let wire = b"\n0012.34lb\r\n00\r\x03\n0012.34lb\r\n10\r\x03\n^^^^^^^lb\r\n02\r\x03\n_______lb\r\n01\r\x03\n?\r\x03";
    let options = DecoderOptions {
        framer: FramerOptions {
            mask_7bit: true,
            ..FramerOptions::default()
        },
        ..DecoderOptions::default()
    };
    let messages = decode_all(ScaleProtocol::Nci, options, wire);
    assert_eq!(messages.len(), 5);
    let r = readings(&messages);
    assert!(r[0].stable && !r[1].stable);
    assert_eq!(r[2].condition, ScaleCondition::Overload);
    assert_eq!(r[3].condition, ScaleCondition::Underload);
    assert!(matches!(
        messages[4],
        ScaleMessage::Nci(stockpost_common::scale::nci::NciResponse::UnknownCommand)
    ));
}

#[test]
fn a_cas_ecr_poll_survives_a_nak_and_rejects_a_bad_bcc() {
    let mut poll = EcrPoll::new(3);
    let mut dec = ScaleDecoder::new(ScaleProtocol::CasEcr, DecoderOptions::default());
    assert_eq!(poll.start(), EcrStep::Send(vec![0x05]));
    dec.push(&[0x15]);
    let Some(Ok(ScaleMessage::CasEcr(m))) = dec.next_message() else {
        panic!("no NAK");
    };
    assert_eq!(m, EcrMessage::Nak);
    assert_eq!(poll.on_message(m), EcrStep::Send(vec![0x05]));
    dec.push(&[0x06]);
    let Some(Ok(ScaleMessage::CasEcr(m))) = dec.next_message() else {
        panic!("no ACK");
    };
    assert_eq!(poll.on_message(m), EcrStep::Send(vec![0x11]));
    // A frame with a bad BCC is a parse error: the driver times out / retries.
    dec.push(&[
        0x01, 0x02, 0x53, 0x20, 0x30, 0x31, 0x2E, 0x32, 0x33, 0x34, 0x6B, 0x67, 0x66, 0x03, 0x04,
    ]);
    assert!(matches!(dec.next_message(), Some(Err(e)) if e.field == "bcc"));
    assert_eq!(poll.on_timeout(), EcrStep::Send(vec![0x05]));
}

#[test]
fn generic_strings_with_lower_case_units_address_prefix_and_net_negative() {
    let wire = b"01ST,GS,+0001.234kg\r\n01US,NT,-0000.120Kg\r\n01OL,GS,+9999.999kg\r\n";
    let r = readings(&decode_all(
        ScaleProtocol::Generic,
        DecoderOptions::default(),
        wire,
    ));
    assert_eq!(kg(&r[0]), Some(Decimal::new(1234, 3)));
    assert_eq!(kg(&r[1]), Some(Decimal::new(-120, 3)));
    assert_eq!(r[1].net, Some(true));
    assert_eq!(r[2].condition, ScaleCondition::Overload);
}

#[test]
fn stability_by_equal_frames_on_a_continuous_stream() {
    let wire = b"US,GS,+0001.200kg\r\nUS,GS,+0001.234kg\r\nST,GS,+0001.234kg\r\nST,GS,+0001.234kg\r\nST,GS,+0001.234kg\r\n";
    let r = readings(&decode_all(
        ScaleProtocol::Generic,
        DecoderOptions::default(),
        wire,
    ));
    let mut s = Stability::new(StabilityRule::FlagAndConsecutiveEqual(3));
    let verdicts: Vec<bool> = r.iter().map(|r| s.observe(r)).collect();
    assert_eq!(verdicts, vec![false, false, false, false, true]);
}

#[test]
fn a_scanner_sends_gs1_data_with_aim_id_gs_separator_and_cr() {
    let mut f = ScannerFramer::new(ScannerFramingConfig::default());
    f.push(b"]C1010952012345678", 0);
    f.push(b"8\x1d10ABC123\r", 20);
    f.push(b"]E09520123456788\r\n]e0", 40);
    f.push(b"10ABC\r", 45);
    let frames: Vec<Vec<u8>> = std::iter::from_fn(|| f.next_frame(50)).collect();
    assert_eq!(
        frames,
        vec![
            b"]C10109520123456788\x1d10ABC123".to_vec(),
            b"]E09520123456788".to_vec(),
            b"]e010ABC".to_vec()
        ]
    );
}

#[test]
fn printer_status_flags_for_paper_out_pause_and_head_up() {
    let reply = b"\x02030,1,1,1225,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,1,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
    let s = parse_host_status(reply);
    assert_eq!(
        s.map(|s| s.problems()),
        Ok(vec![
            PrinterProblem::PaperOut,
            PrinterProblem::Paused,
            PrinterProblem::HeadOpen
        ])
    );
}
