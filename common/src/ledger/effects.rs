//! What an event does to balances and totals, computed without touching the ledger.

use super::key::{Flow, StockKey};
use crate::domain::{Dec, Disposition, Event, EventBody, Place, StockRef, StockStatus};

/// The balance and total changes of one event.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub balances: Vec<(StockKey, Dec)>,
    pub flows: Vec<(StockRef, Flow, Dec)>,
}

impl Effects {
    fn add(
        &mut self,
        event: &Event,
        place: Place,
        stock: &StockRef,
        status: StockStatus,
        delta: Dec,
    ) {
        self.balances.push((
            StockKey {
                node: event.id.node.clone(),
                place,
                stock: stock.clone(),
                status,
            },
            delta,
        ));
    }

    fn flow(&mut self, stock: &StockRef, flow: Flow, qty: Dec) {
        self.flows.push((stock.clone(), flow, qty));
    }
}

/// Computes the effects of a validated event.
pub(crate) fn effects_of(event: &Event) -> Effects {
    let mut fx = Effects::default();
    let avail = StockStatus::Available;
    match &event.body {
        EventBody::Receive {
            location,
            stock,
            qty,
            status,
            ..
        } => {
            fx.add(
                event,
                Place::Location(location.clone()),
                stock,
                *status,
                qty.get(),
            );
            fx.flow(stock, Flow::Received, qty.get());
        }
        EventBody::Move {
            from,
            to,
            stock,
            status,
            qty,
            ..
        } => {
            fx.add(event, from.clone(), stock, *status, -qty.get());
            fx.add(event, to.clone(), stock, *status, qty.get());
        }
        EventBody::Pick {
            from,
            to,
            stock,
            qty,
            ..
        } => {
            fx.add(
                event,
                Place::Location(from.clone()),
                stock,
                avail,
                -qty.get(),
            );
            fx.add(event, Place::Container(to.clone()), stock, avail, qty.get());
        }
        EventBody::ShortPick { .. } => {}
        EventBody::Pack {
            from,
            carton,
            lines,
            ..
        } => {
            for line in lines {
                fx.add(
                    event,
                    Place::Container(from.clone()),
                    &line.stock,
                    avail,
                    -line.qty.get(),
                );
                fx.add(
                    event,
                    Place::Container(carton.clone()),
                    &line.stock,
                    avail,
                    line.qty.get(),
                );
            }
        }
        EventBody::Ship {
            container, lines, ..
        } => {
            for line in lines {
                fx.add(
                    event,
                    Place::Container(container.clone()),
                    &line.stock,
                    avail,
                    -line.qty.get(),
                );
                fx.flow(&line.stock, Flow::Shipped, line.qty.get());
            }
        }
        EventBody::Adjust {
            place,
            stock,
            status,
            delta,
            ..
        } => {
            fx.add(event, place.clone(), stock, *status, *delta);
            if delta.is_negative() {
                fx.flow(stock, Flow::AdjustedDown, -*delta);
            } else {
                fx.flow(stock, Flow::AdjustedUp, *delta);
            }
        }
        EventBody::CountResult {
            location,
            stock,
            status,
            counted,
            expected,
        } => {
            // The variance the operator saw is what changes: it commutes with the other
            // streams at the hub and keeps every unit accounted for.
            if let Some(delta) = counted.get().checked_sub(expected.get()) {
                if !delta.is_zero() {
                    fx.add(
                        event,
                        Place::Location(location.clone()),
                        stock,
                        *status,
                        delta,
                    );
                    if delta.is_negative() {
                        fx.flow(stock, Flow::AdjustedDown, -delta);
                    } else {
                        fx.flow(stock, Flow::AdjustedUp, delta);
                    }
                }
            }
        }
        EventBody::ReturnReceive {
            location,
            stock,
            qty,
            ..
        } => {
            fx.add(
                event,
                Place::Location(location.clone()),
                stock,
                StockStatus::ReturnPending,
                qty.get(),
            );
            fx.flow(stock, Flow::Returned, qty.get());
        }
        EventBody::Disposition {
            location,
            stock,
            qty,
            disposition,
            ..
        } => {
            let here = Place::Location(location.clone());
            fx.add(
                event,
                here.clone(),
                stock,
                StockStatus::ReturnPending,
                -qty.get(),
            );
            match disposition {
                Disposition::Restock { to } => {
                    fx.add(event, Place::Location(to.clone()), stock, avail, qty.get());
                }
                Disposition::Refurbish => {
                    fx.add(event, here, stock, StockStatus::QualityHold, qty.get())
                }
                Disposition::Quarantine => {
                    fx.add(event, here, stock, StockStatus::Quarantine, qty.get())
                }
                Disposition::VendorReturn => fx.flow(stock, Flow::VendorReturned, qty.get()),
                Disposition::WriteOff => fx.flow(stock, Flow::WrittenOff, qty.get()),
            }
        }
        EventBody::StatusChange {
            place,
            stock,
            qty,
            from,
            to,
            ..
        } => {
            fx.add(event, place.clone(), stock, *from, -qty.get());
            fx.add(event, place.clone(), stock, *to, qty.get());
        }
        EventBody::TransferOut {
            from,
            stock,
            status,
            qty,
            ..
        } => {
            fx.add(event, from.clone(), stock, *status, -qty.get());
            fx.flow(stock, Flow::TransferredOut, qty.get());
        }
        EventBody::TransferIn { to, stock, qty, .. } => {
            fx.add(event, Place::Location(to.clone()), stock, avail, qty.get());
            fx.flow(stock, Flow::TransferredIn, qty.get());
        }
        // Task events record work, not stock: they move nothing.
        EventBody::TaskDefined { .. } | EventBody::TaskProgress { .. } => {}
    }
    fx
}
