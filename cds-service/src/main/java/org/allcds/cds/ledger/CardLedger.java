package org.allcds.cds.ledger;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.allcds.cds.hooks.FeedbackRequest;
import org.allcds.cds.problems.RequestProblem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;

/**
 * The card ledger as the hook and feedback calls see it (README, "Card ledger"):
 * <ul>
 *   <li>{@link #issued}: the cards of an answered hook call, queued for the writer thread (never waits, never fails);</li>
 *   <li>{@link #withoutAddressed}: the cards minus those a clinician overrode as already addressed (same patient,
 *       topic and evidence) within the topic's period: one indexed read, skipped (fail open) while the database fails;</li>
 *   <li>{@link #feedback}: feedback stored against the cards it answers, or a 400 naming a card never issued, or a
 *       503 when the database cannot store it.</li>
 * </ul>
 * Built without a store when {@code all-cds.ledger.enabled=false}: cards are counted, nothing is read or written.
 */
public class CardLedger implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CardLedger.class);

    public static final String ALREADY_ADDRESSED = "already-addressed";
    /** Never held back: a data problem or a failed evaluation must show on every call until it is fixed. */
    static final Set<String> NEVER_SUPPRESSED = Set.of("data-conflict", "evaluation-incomplete");
    /** After a failed read, the hook path does not try the database again for this long (fails open meanwhile). */
    private static final Duration READ_PAUSE = Duration.ofSeconds(10);

    private final LedgerProperties properties;
    private final LedgerStore store;
    private final LedgerWriter writer;
    private final LedgerMetrics metrics;
    private final String logicVersion;
    private final Clock clock;
    private final ScheduledExecutorService cleanup;
    private final AtomicBoolean readFailing = new AtomicBoolean();
    private volatile boolean readsPaused;
    private volatile long readsPausedUntil;

    /** @param store null when the ledger is off */
    public CardLedger(LedgerProperties properties, LedgerStore store, LedgerMetrics metrics, String logicVersion, Clock clock) {
        this.properties = properties;
        this.store = store;
        this.metrics = metrics;
        this.logicVersion = logicVersion;
        this.clock = clock;
        this.writer = store == null ? null : new LedgerWriter(store, metrics, properties.queueCapacity());
        if (store == null) {
            this.cleanup = null;
        } else {
            this.cleanup = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ledger-cleanup");
                t.setDaemon(true);
                return t;
            });
            long every = properties.cleanupInterval().toMillis();
            cleanup.scheduleWithFixedDelay(this::deleteExpired, Math.min(every, 60_000), every, TimeUnit.MILLISECONDS);
        }
    }

    public boolean enabled() {
        return store != null;
    }

    /** The store, for the analytics; null when the ledger is off. */
    LedgerStore store() {
        return store;
    }

    /** The cards of one answered hook call: counted, and queued to be written (dropped and counted if the queue is full). */
    public void issued(String serviceId, String hookInstance, String patientId, Caller caller,
            List<CdsServiceResponseCardJson> cards) {
        List<IssuedCard> issued = new ArrayList<>(cards.size());
        for (CdsServiceResponseCardJson card : cards) {
            IssuedCard one = IssuedCard.of(card);
            metrics.cardIssued(serviceId, one.topic());
            issued.add(one);
        }
        if (writer != null && !issued.isEmpty()) {
            writer.offer(new LedgerStore.IssuedCall(serviceId, hookInstance, patientId, caller.label(), logicVersion,
                    clock.instant(), issued));
        }
    }

    /**
     * The cards to show: those of a topic with a suppression period that a clinician overrode as already addressed,
     * for this patient and the same evidence, within the period, are left out. Fails open: while the database
     * cannot be read, every card shows.
     */
    public List<CdsServiceResponseCardJson> withoutAddressed(String serviceId, String patientId,
            List<CdsServiceResponseCardJson> cards) {
        if (store == null || cards.isEmpty() || patientId == null || readsPaused()
                || cards.stream().noneMatch(this::suppressible)) {
            return cards;
        }
        Map<String, Map<String, Instant>> addressed;
        try {
            addressed = store.addressed(patientId);
            if (readFailing.compareAndSet(true, false)) {
                log.info("ledger: reading suppressions again");
            }
        } catch (DataAccessException e) {
            readsPausedUntil = System.nanoTime() + READ_PAUSE.toNanos();
            readsPaused = true;
            metrics.failure(LedgerMetrics.Failure.READ, 1);
            if (readFailing.compareAndSet(false, true)) {
                log.warn("ledger: cannot read already-addressed overrides ({}); every card shows until the database"
                        + " answers (logged once)", e.toString());
            }
            return cards;
        }
        if (addressed.isEmpty()) {
            return cards;
        }
        Instant now = clock.instant();
        List<CdsServiceResponseCardJson> shown = new ArrayList<>(cards.size());
        for (CdsServiceResponseCardJson card : cards) {
            String topic = topic(card);
            Instant when = suppressible(card) ? addressed.getOrDefault(topic, Map.of())
                    .get(IssuedCard.evidenceKey(IssuedCard.evidenceOf(card))) : null;
            if (when != null && when.plus(properties.suppressionOf(topic)).isAfter(now)) {
                metrics.cardSuppressed(serviceId, topic);
            } else {
                shown.add(card);
            }
        }
        return shown;
    }

    private boolean readsPaused() {
        if (readsPaused && System.nanoTime() - readsPausedUntil >= 0) {
            readsPaused = false;
        }
        return readsPaused;
    }

    private boolean suppressible(CdsServiceResponseCardJson card) {
        String topic = topic(card);
        return !NEVER_SUPPRESSED.contains(topic) && !properties.suppressionOf(topic).isZero();
    }

    private static String topic(CdsServiceResponseCardJson card) {
        return card.getSource() == null || card.getSource().getTopic() == null ? "" : card.getSource().getTopic().getCode();
    }

    /**
     * Stores checked feedback against the cards it answers (all items or none). A card this service never issued,
     * or an accepted suggestion that is not the card's, is a 400 naming the item; a database that cannot store it,
     * a 503. With the ledger off, the feedback is only counted.
     */
    public void feedback(String serviceId, Caller caller, FeedbackRequest feedback) {
        feedback.items().forEach(item -> metrics.feedback(serviceId, item.outcome().name().toLowerCase()));
        if (store == null) {
            return;
        }
        try {
            Map<String, LedgerStore.KnownCard> cards = new HashMap<>();
            List<FeedbackRequest.Item> items = feedback.items();
            for (int i = 0; i < items.size(); i++) {
                FeedbackRequest.Item item = items.get(i);
                LedgerStore.KnownCard card = cards.containsKey(item.card()) ? cards.get(item.card()) : known(serviceId, item.card());
                if (card == null) {
                    throw RequestProblem.badRequest("unknown-card", "feedback[" + i + "].card: card " + item.card()
                            + " was never issued by service '" + serviceId + "'");
                }
                cards.put(item.card(), card);
                for (int k = 0; k < item.acceptedSuggestions().size(); k++) {
                    if (!card.suggestions().contains(item.acceptedSuggestions().get(k))) {
                        throw RequestProblem.badRequest("unknown-suggestion", "feedback[" + i + "].acceptedSuggestions[" + k
                                + "].id: " + item.acceptedSuggestions().get(k) + " is not a suggestion of card " + item.card());
                    }
                }
            }
            store.writeFeedback(items, cards, caller.label(), clock.instant());
        } catch (DataAccessException e) {
            metrics.failure(LedgerMetrics.Failure.FEEDBACK, feedback.items().size());
            log.warn("ledger: feedback not stored, the database refused it ({}): answered 503", e.toString());
            throw new RequestProblem(HttpStatus.SERVICE_UNAVAILABLE, "ledger-unavailable",
                    "the feedback could not be stored now; send it again later");
        }
    }

    /**
     * The card, or null if it was never issued. Cards are written just after their call is answered, so feedback
     * racing its card (on this replica, or on another whose writer gathers its batch) is looked up again once this
     * replica's earlier calls are written, and up to three times 250 ms apart, before it is called unknown.
     */
    private LedgerStore.KnownCard known(String serviceId, String cardUuid) {
        LedgerStore.KnownCard card = store.card(serviceId, cardUuid);
        if (card == null && writer.flush(Duration.ofSeconds(2))) {
            card = store.card(serviceId, cardUuid);
        }
        for (int retry = 0; card == null && retry < 3 && !Thread.currentThread().isInterrupted(); retry++) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            card = store.card(serviceId, cardUuid);
        }
        return card;
    }

    /** Waits until the cards answered so far are written (tests, shutdown). */
    public boolean flush(Duration timeout) {
        return writer == null || writer.flush(timeout);
    }

    void deleteExpired() {
        Instant now = clock.instant();
        try {
            int deleted = store.deleteExpired(now.minus(properties.retention()), now);
            if (deleted > 0) {
                log.info("ledger: {} rows past retention ({}) or expired JWT ids deleted", deleted, properties.retention());
            }
        } catch (RuntimeException e) {
            log.warn("ledger: clean-up failed ({}); tried again in {}", e.toString(), properties.cleanupInterval());
        }
    }

    @PreDestroy
    @Override
    public void close() {
        if (cleanup != null) {
            cleanup.shutdownNow();
        }
        if (writer != null) {
            writer.close();
        }
    }
}
