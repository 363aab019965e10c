# Build Atelier for Windows: a PyInstaller folder with ONNX Runtime DirectML, checked, then an Inno Setup installer.
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1 [-SkipInstaller]
# Needs Python 3.11 (py launcher) and Inno Setup 6 (choco install innosetup). Output:
#   dist\atelier\ (atelier.exe, atelier-cli.exe), dist\doctor.json, dist\self-test.json,
#   dist\atelier-<version>-windows-x64-setup.exe
# Not run here (written on Linux): .github/workflows/installers.yml runs it on windows-latest.
param([switch]$SkipInstaller)
$ErrorActionPreference = "Stop"
$root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $root

function Invoke-Checked {
  # PowerShell does not stop on a native program's failure by itself.
  param([string]$File, [string[]]$Arguments)
  & $File @Arguments
  if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$version = (Select-String -Path pyproject.toml -Pattern '^version = "([^"]+)"').Matches[0].Groups[1].Value
# $env:PYTHON names the interpreter to make .venv with (CI: setup-python's); else the py launcher's 3.11.
if (-not (Test-Path .venv\Scripts\python.exe)) {
  if ($env:PYTHON) { Invoke-Checked $env:PYTHON @("-m", "venv", ".venv") } else { Invoke-Checked py @("-3.11", "-m", "venv", ".venv") }
}
$python = (Resolve-Path .venv\Scripts\python.exe).Path
$pip = @("-m", "pip", "--disable-pip-version-check", "-q")
Invoke-Checked $python ($pip + @("install", "--upgrade", "pip"))
# torch only to convert the first-use packs (MiniLM, SmolLM2) before bundling; the bundle excludes it.
Invoke-Checked $python ($pip + @("install", "torch==2.13.0"))
Invoke-Checked $python ($pip + @("install", "-e", ".[build]"))
Invoke-Checked $python ($pip + @("install", "--no-deps", "-r", "installer\no-deps.txt"))
# DirectML replaces BOTH CPU packages: onnxruntime-directml and onnxruntime (and the genai pair) install the same
# 'onnxruntime' folder, so the CPU ones go first and nothing installed afterwards may ask for them again.
# onnxruntime-genai-directml 0.14.x needs onnxruntime-directml >= 1.26, which PyPI does not have (1.24.4 is the
# newest there), so 0.13.1 is the newest pair that installs.
Invoke-Checked $python ($pip + @("uninstall", "-y", "onnxruntime", "onnxruntime-genai"))
Invoke-Checked $python ($pip + @("install", "onnxruntime-directml==1.24.4", "onnxruntime-genai-directml==0.13.1"))
Invoke-Checked $python ($pip + @("install", "pyinstaller==6.22.3"))
Invoke-Checked $python @("-c", "import onnxruntime as o, sys; p = o.get_available_providers(); print('providers:', p); sys.exit('DmlExecutionProvider' not in p)")

if (Test-Path installer\bundle_packs.py) {
  # Ready the first-use packs (converted once, reused from the cache keyed by their inputs).
  Invoke-Checked $python @("installer\bundle_packs.py", "--out", "build\bundle-packs.json")
  $env:ATELIER_BUNDLE_PACKS = (Resolve-Path build\bundle-packs.json).Path
}
$env:ATELIER_BUNDLE_FLAVOUR = "cpu"  # no CUDA libraries; DirectML.dll comes with onnxruntime-directml
Invoke-Checked $python @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN", "--distpath", "dist",
  "--workpath", "build\pyinstaller-windows", "installer\windows\atelier.spec")
if (Test-Path installer\check_bundle.py) { Invoke-Checked $python @("installer\check_bundle.py", "dist\atelier") }

# The bundle itself, with no Python on PATH: its doctor must list DirectML, its self-test must pass.
$env:QT_QPA_PLATFORM = "offscreen"
$env:PATH = "$env:SystemRoot\System32;$env:SystemRoot"
$cli = "dist\atelier\atelier-cli.exe"
& $cli doctor --json | Out-File -Encoding utf8 dist\doctor.json
if ($LASTEXITCODE -ne 0) { throw "atelier-cli doctor failed (exit $LASTEXITCODE): see dist\doctor.json" }
$doctor = Get-Content dist\doctor.json -Raw | ConvertFrom-Json
if ($doctor.providers -notcontains "DmlExecutionProvider") { throw "the bundle's onnxruntime has no DirectML provider: $($doctor.providers -join ', ')" }
foreach ($pack in $doctor.packs) { Write-Host ("  {0,-28} verified={1} device={2} {3}" -f $pack.id, $pack.verified, $pack.device, $pack.error) }
if ((& $cli --help | Out-String) -match "--self-test") {
  Invoke-Checked $cli @("--self-test", "--report", "dist\self-test.json")
} else {
  throw "atelier-cli --self-test is missing from this build"
}
Remove-Item Env:QT_QPA_PLATFORM

if (-not $SkipInstaller) {
  $iscc = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe") | Where-Object { Test-Path $_ } | Select-Object -First 1
  if (-not $iscc) { throw "Inno Setup 6 is missing: choco install innosetup (or pass -SkipInstaller)" }
  Invoke-Checked $iscc @("/Q", "/DAppVersion=$version", "installer\windows\atelier.iss")
  Get-Item "dist\atelier-$version-windows-x64-setup.exe" | ForEach-Object { Write-Host "installer: $($_.FullName) ($([math]::Round($_.Length / 1MB)) MB)" }
}
