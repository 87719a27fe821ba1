/*
 * vkbridge_service.c — vkbridge-service.exe: runs one command as a Windows service.
 *
 *   vkbridge-service install NAME [--log FILE] -- COMMAND [ARG...]
 *   vkbridge-service uninstall NAME
 *   vkbridge-service run [--log FILE] -- COMMAND [ARG...]      (what the service manager runs)
 *
 * Why a wrapper: the service manager only starts programs that speak its protocol
 * (StartServiceCtrlDispatcher), which neither vkbridge.exe nor wsl.exe does; sc.exe create
 * on them fails with error 1053. `install` registers this program with "run -- COMMAND" as
 * its command line (auto start, restart 5 s after a failure); `run` starts COMMAND in a job
 * object (so a stop ends its whole process tree), its stdout and stderr appended to FILE,
 * reports the service running, and stops when COMMAND exits (a non-zero status is a
 * failure, so the restart policy applies) or when the service manager says stop (the job
 * is terminated). docs/WINDOWS.md says what it wraps: `wsl.exe ... vkbridge serve`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static HANDLE stop_event;
static char *child_cmdline; /* the COMMAND, quoted for CreateProcess */
static const char *log_path;

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge-service install NAME [--log FILE] -- COMMAND [ARG...]\n"
               "       vkbridge-service uninstall NAME\n"
               "       vkbridge-service run [--log FILE] -- COMMAND [ARG...]\n");
}

/* Appends arg to out as CommandLineToArgv reads it back: quotes when needed, backslashes
 * doubled only where they precede a quote. out has room for 2 * strlen(arg) + 3. */
static char *append_quoted(char *out, const char *arg)
{
    if (*arg && !strpbrk(arg, " \t\n\v\"")) {
        strcpy(out, arg);
        return out + strlen(arg);
    }
    *out++ = '"';
    for (const char *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == '\\') {
            p++;
            slashes++;
        }
        if (!*p) { /* before the closing quote: every backslash doubled */
            for (size_t i = 0; i < 2 * slashes; i++)
                *out++ = '\\';
            break;
        }
        size_t n = *p == '"' ? 2 * slashes + 1 : slashes;
        for (size_t i = 0; i < n; i++)
            *out++ = '\\';
        *out++ = *p;
    }
    *out++ = '"';
    *out = '\0';
    return out;
}

/* argv[0..argc) as one command line (malloc'd), prefixed by prefix when non-NULL. */
static char *join_args(const char *prefix, int argc, char **argv)
{
    size_t len = prefix ? strlen(prefix) + 1 : 1;
    for (int i = 0; i < argc; i++)
        len += 2 * strlen(argv[i]) + 3;
    char *s = malloc(len), *o = s;
    if (!s)
        return NULL;
    *o = '\0';
    if (prefix) {
        strcpy(o, prefix);
        o += strlen(prefix);
    }
    for (int i = 0; i < argc; i++) {
        if (o != s)
            *o++ = ' ';
        o = append_quoted(o, argv[i]);
    }
    return s;
}

static void report(DWORD state, DWORD exit_code)
{
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwCurrentState = state;
    status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    status.dwServiceSpecificExitCode = exit_code;
    status.dwWaitHint = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING ? 10000 : 0;
    SetServiceStatus(status_handle, &status);
}

static DWORD WINAPI on_control(DWORD control, DWORD type, void *data, void *ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
        report(SERVICE_STOP_PENDING, 0);
        SetEvent(stop_event);
        return NO_ERROR;
    }
    return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

/* Starts the child in a job that dies with it; returns its exit status, or 1 if it could not
 * start (the reason goes to the log). */
static DWORD run_child(void)
{
    DWORD code = 1;
    HANDLE log = INVALID_HANDLE_VALUE, job = NULL;
    PROCESS_INFORMATION pi = {0};
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    STARTUPINFOA si = {.cb = sizeof si};
    if (log_path) {
        log = CreateFileA(log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE,
                          &inherit, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (log != INVALID_HANDLE_VALUE) {
            si.dwFlags = STARTF_USESTDHANDLES;
            si.hStdInput = NULL;
            si.hStdOutput = log;
            si.hStdError = log;
        }
    }
    job = CreateJobObjectA(NULL, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {0};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!job || !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits,
                                         sizeof limits))
        goto cleanup;
    if (!CreateProcessA(NULL, child_cmdline, NULL, NULL, log != INVALID_HANDLE_VALUE,
                        CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        if (log != INVALID_HANDLE_VALUE) {
            char line[512];
            int n = snprintf(line, sizeof line, "vkbridge-service: cannot start %s: error %lu\r\n",
                             child_cmdline, (unsigned long)GetLastError());
            DWORD wrote;
            WriteFile(log, line, (DWORD)n, &wrote, NULL);
        }
        goto cleanup;
    }
    AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    report(SERVICE_RUNNING, 0);
    HANDLE waits[2] = {pi.hProcess, stop_event};
    if (WaitForMultipleObjects(2, waits, FALSE, INFINITE) == WAIT_OBJECT_0) {
        GetExitCodeProcess(pi.hProcess, &code);
    } else { /* stop: the whole tree goes */
        TerminateJobObject(job, 0);
        WaitForSingleObject(pi.hProcess, 10000);
        code = 0;
    }
cleanup:
    if (pi.hThread)
        CloseHandle(pi.hThread);
    if (pi.hProcess)
        CloseHandle(pi.hProcess);
    if (job)
        CloseHandle(job);
    if (log != INVALID_HANDLE_VALUE)
        CloseHandle(log);
    return code;
}

static void WINAPI service_main(DWORD argc, char **argv)
{
    (void)argc;
    (void)argv;
    status_handle = RegisterServiceCtrlHandlerExA("", on_control, NULL);
    if (!status_handle)
        return;
    report(SERVICE_START_PENDING, 0);
    stop_event = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD code = stop_event ? run_child() : 1;
    report(SERVICE_STOPPED, code);
}

/* [--log FILE] -- COMMAND [ARG...] from argv[i..): sets log_path, returns COMMAND's index. */
static int parse_command(int argc, char **argv, int i)
{
    if (i + 1 < argc && !strcmp(argv[i], "--log")) {
        log_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc || strcmp(argv[i], "--") || i + 1 >= argc)
        return -1;
    return i + 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "vkbridge-service: %s: error %lu\n", what, (unsigned long)GetLastError());
    return 1;
}

static int install(const char *name, int argc, char **argv)
{
    int cmd = parse_command(argc, argv, 0);
    if (cmd < 0) {
        usage(stderr);
        return 2;
    }
    char self[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, self, sizeof self);
    if (n == 0 || n >= sizeof self)
        return fail("GetModuleFileName");
    char *self_q = malloc(2 * strlen(self) + 3);
    char *bin = NULL;
    int rc = 1;
    if (!self_q)
        return 1;
    append_quoted(self_q, self);
    /* "SELF" run [--log FILE] -- COMMAND...: the service's whole command line. */
    bin = join_args(self_q, argc, argv);
    char *run = bin ? malloc(strlen(bin) + 8) : NULL;
    if (!run)
        goto done;
    snprintf(run, strlen(bin) + 8, "%s run %s", self_q, bin + strlen(self_q) + 1);
    SC_HANDLE scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (!scm) {
        rc = fail("OpenSCManager (run as Administrator)");
        free(run);
        goto done;
    }
    SC_HANDLE svc = CreateServiceA(scm, name, name, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                                   SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, run, NULL, NULL,
                                   NULL, NULL, NULL);
    if (!svc) {
        rc = fail("CreateService");
    } else {
        SERVICE_DESCRIPTIONA desc = {"vkbridge: text embeddings and BERTScore over HTTP"};
        ChangeServiceConfig2A(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
        SC_ACTION restart[3] = {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000},
                                {SC_ACTION_RESTART, 5000}};
        SERVICE_FAILURE_ACTIONSA actions = {.dwResetPeriod = 86400, .cActions = 3,
                                            .lpsaActions = restart};
        ChangeServiceConfig2A(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &actions);
        printf("installed service %s: %s\n", name, run);
        CloseServiceHandle(svc);
        rc = 0;
    }
    CloseServiceHandle(scm);
    free(run);
done:
    free(bin);
    free(self_q);
    return rc;
}

static int uninstall(const char *name)
{
    SC_HANDLE scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm)
        return fail("OpenSCManager (run as Administrator)");
    SC_HANDLE svc = OpenServiceA(scm, name, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
    int rc = 1;
    if (!svc) {
        rc = fail("OpenService");
    } else {
        SERVICE_STATUS st;
        if (ControlService(svc, SERVICE_CONTROL_STOP, &st))
            for (int i = 0; i < 100 && QueryServiceStatus(svc, &st) &&
                            st.dwCurrentState != SERVICE_STOPPED; i++)
                Sleep(100);
        if (DeleteService(svc)) {
            printf("removed service %s\n", name);
            rc = 0;
        } else {
            rc = fail("DeleteService");
        }
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "install"))
        return install(argv[2], argc - 3, argv + 3);
    if (argc == 3 && !strcmp(argv[1], "uninstall"))
        return uninstall(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "run")) {
        int cmd = parse_command(argc, argv, 2);
        if (cmd < 0) {
            usage(stderr);
            return 2;
        }
        child_cmdline = join_args(NULL, argc - cmd, argv + cmd);
        if (!child_cmdline)
            return 1;
        SERVICE_TABLE_ENTRYA table[] = {{"", service_main}, {NULL, NULL}};
        if (!StartServiceCtrlDispatcherA(table)) {
            fail("StartServiceCtrlDispatcher (`run` is for the service manager; use install)");
            free(child_cmdline);
            return 1;
        }
        free(child_cmdline);
        return (int)status.dwServiceSpecificExitCode;
    }
    usage(argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr);
    return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
}
