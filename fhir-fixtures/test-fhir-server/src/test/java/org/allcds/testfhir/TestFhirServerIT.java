package org.allcds.testfhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import org.allcds.testfhir.containers.TestFhirServerContainer;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End-to-end: the test FHIR server image (built by jar hash, see JarImages) started with
 * Testcontainers. Test 1 loads a transaction bundle with client ids and searches it back the way
 * the CDS service will; test 2 stops the container and checks a client call then fails fast.
 * The order matters: test 2 stops the shared container.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestFhirServerIT {

	private static final FhirContext CTX = FhirContext.forR4Cached();
	private static final String PATIENT = "all-it-1";

	private static TestFhirServerContainer fhir;

	@BeforeAll
	static void start() {
		fhir = new TestFhirServerContainer();
		long t0 = System.nanoTime();
		fhir.start();
		System.out.printf("test FHIR server container ready in %d ms at %s%n",
				(System.nanoTime() - t0) / 1_000_000, fhir.fhirBaseUrl());
	}

	@AfterAll
	static void stop() {
		if (fhir != null) {
			fhir.stop();
		}
	}

	private static IGenericClient client(Duration connect, Duration socket) {
		CTX.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
		CTX.getRestfulClientFactory().setConnectTimeout((int) connect.toMillis());
		CTX.getRestfulClientFactory().setSocketTimeout((int) socket.toMillis());
		return CTX.newRestfulGenericClient(fhir.fhirBaseUrl());
	}

	@Test
	@Order(1)
	void transactionBundleWithClientIdsIsSearchableByPatient() {
		IGenericClient client = client(Duration.ofSeconds(5), Duration.ofSeconds(60));

		Patient patient = new Patient();
		patient.setId(PATIENT);
		patient.addName().setFamily("Testcase").addGiven("Ada");
		patient.setGender(Enumerations.AdministrativeGender.FEMALE);
		patient.setBirthDateElement(new DateType("2016-04-01"));

		Condition condition = new Condition();
		condition.setId("all-it-1-dx");
		condition.setSubject(new Reference("Patient/" + PATIENT));
		condition.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "91857003",
				"Acute lymphoblastic leukemia")));

		Observation wbc = new Observation();
		wbc.setId("all-it-1-wbc");
		wbc.setStatus(Observation.ObservationStatus.FINAL);
		wbc.setSubject(new Reference("Patient/" + PATIENT));
		wbc.setCode(new CodeableConcept(new Coding("http://loinc.org", "26464-8", "Leukocytes [#/volume] in Blood")));
		wbc.setValue(new Quantity().setValue(3.2).setUnit("10*3/uL").setSystem("http://unitsofmeasure.org")
				.setCode("10*3/uL"));

		Procedure marrow = new Procedure();
		marrow.setId("all-it-1-bma");
		marrow.setStatus(Procedure.ProcedureStatus.COMPLETED);
		marrow.setSubject(new Reference("Patient/" + PATIENT));
		marrow.setCode(new CodeableConcept().setText("Bone marrow aspiration"));

		Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
		for (Resource r : List.<Resource>of(patient, condition, wbc, marrow)) {
			String url = r.fhirType() + "/" + r.getIdElement().getIdPart();
			tx.addEntry().setFullUrl(url).setResource(r).getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(url);
		}

		Bundle response = client.transaction().withBundle(tx).execute();
		assertThat(response.getType()).isEqualTo(Bundle.BundleType.TRANSACTIONRESPONSE);
		assertThat(response.getEntry()).hasSize(4)
				.allSatisfy(e -> assertThat(e.getResponse().getStatus()).startsWith("201"));

		Patient read = client.read().resource(Patient.class).withId(PATIENT).execute();
		assertThat(read.getBirthDateElement().getValueAsString()).isEqualTo("2016-04-01");
		assertThat(LocalDate.parse(read.getBirthDateElement().getValueAsString()).getYear()).isEqualTo(2016);

		for (String type : List.of("Observation", "Condition", "Procedure")) {
			Bundle found = client.search().byUrl(type + "?patient=" + PATIENT).returnBundle(Bundle.class).execute();
			assertThat(found.getEntry()).as(type + "?patient=" + PATIENT).hasSize(1);
			assertThat(found.getEntryFirstRep().getResource().fhirType()).isEqualTo(type);
		}
		Bundle byCode = client.search().byUrl("Observation?patient=" + PATIENT + "&code=http://loinc.org|26464-8")
				.returnBundle(Bundle.class).execute();
		assertThat(byCode.getEntry()).hasSize(1);
	}

	@Test
	@Order(2)
	void afterStopAClientCallFailsFastWithinItsTimeout() {
		String baseUrl = fhir.fhirBaseUrl(); // resolve the mapped port while the container runs
		fhir.stop();
		assertThat(fhir.isRunning()).isFalse();

		CTX.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
		CTX.getRestfulClientFactory().setConnectTimeout(2_000);
		CTX.getRestfulClientFactory().setSocketTimeout(2_000);
		IGenericClient client = CTX.newRestfulGenericClient(baseUrl);

		long t0 = System.nanoTime();
		assertThatThrownBy(() -> client.read().resource(Patient.class).withId(PATIENT).execute())
				.isInstanceOf(FhirClientConnectionException.class);
		long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
		System.out.printf("client call against the stopped server failed after %d ms%n", elapsedMs);
		// connect (2 s) + socket (2 s) timeouts bound it; no retry loop, no hang.
		assertThat(elapsedMs).isLessThan(5_000);
	}
}
