package org.allcds.cds.it;

import java.io.File;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's {@code chromium}, headless, driven through Debian's {@code chromedriver} (Selenium is pointed at both, so
 * nothing is downloaded at test time), for the browser tests of the pages the service serves.
 */
final class HeadlessChromium implements AutoCloseable {

    static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    static final String CHROMIUM = "/usr/bin/chromium";

    private final ChromeDriverService driverService;
    private final WebDriver browser;

    private HeadlessChromium(ChromeDriverService driverService, WebDriver browser) {
        this.driverService = driverService;
        this.browser = browser;
    }

    static HeadlessChromium start(int width, int height) {
        ChromeDriverService driverService = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=" + width + "," + height, "--lang=en-US");
        try {
            return new HeadlessChromium(driverService, new ChromeDriver(driverService, options));
        } catch (RuntimeException e) {
            driverService.stop();
            throw e;
        }
    }

    WebDriver browser() {
        return browser;
    }

    @Override
    public void close() {
        try {
            browser.quit();
        } finally {
            driverService.stop();
        }
    }
}
