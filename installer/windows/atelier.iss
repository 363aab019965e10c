; Inno Setup 6 script: dist\atelier (built by build.ps1 with onnxruntime-directml) into one setup program.
;   iscc /DAppVersion=0.1.0 installer\windows\atelier.iss   -> dist\atelier-0.1.0-windows-x64-setup.exe
; Installs for this user without admin rights by default (Program Files when the user picks "all users"),
; with a Start-menu entry, an optional desktop icon and an uninstaller. The uninstaller removes only what
; setup installed: projects, settings and autosaves (%LOCALAPPDATA%\atelier) stay.
; Not run here (written on Linux): see installer/README.md.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=0.1.0 atelier.iss
#endif
#define Root "..\.."

[Setup]
AppId={{6F4B2C1E-8A3D-4E57-9B1C-2D7A5E0F3C91}
AppName=Atelier
AppVersion={#AppVersion}
AppVerName=Atelier {#AppVersion}
AppPublisher=Atelier
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\Atelier
DefaultGroupName=Atelier
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
SetupIconFile={#Root}\resources\icons\atelier.ico
UninstallDisplayIcon={app}\atelier.exe
UninstallDisplayName=Atelier
WizardStyle=modern
Compression=lzma2/ultra64
SolidCompression=yes
LZMANumBlockThreads=4
OutputDir={#Root}\dist
OutputBaseFilename=atelier-{#AppVersion}-windows-x64-setup
LicenseFile={#Root}\installer\windows\LICENSE.txt
CloseApplications=yes
ChangesEnvironment=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller folder: atelier.exe (window), atelier-cli.exe (console commands) and _internal\.
Source: "{#Root}\dist\atelier\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the program folder's libraries wholesale: files an older version had must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Atelier"; Filename: "{app}\atelier.exe"; Comment: "Sketch, lyrics and palettes, offline"
Name: "{autodesktop}\Atelier"; Filename: "{app}\atelier.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\atelier.exe"; Description: "{cm:LaunchProgram,Atelier}"; Flags: nowait postinstall skipifsilent
