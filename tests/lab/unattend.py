"""An unattend.xml answer file as a deployment would stage it (the passes the lab reads)."""

_WCM = 'wcm:action="add" wcm:keyValue="1" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"'


def answer_file(computer_name: str, mac: str, address: str, *, gateway: str = "", dns: str = "") -> str:
    route = (
        f"\n        <Routes><Route><Identifier>0</Identifier><Metric>10</Metric>"
        f"<NextHopAddress>{gateway}</NextHopAddress>\n          <Prefix>0.0.0.0/0</Prefix></Route></Routes>"
        if gateway else ""
    )
    dns_client = f"""
    <component name="Microsoft-Windows-DNS-Client" processorArchitecture="amd64">
      <Interfaces><Interface><Identifier>{mac}</Identifier>
        <DNSServerSearchOrder><IpAddress>{dns}</IpAddress></DNSServerSearchOrder>
      </Interface></Interfaces>
    </component>""" if dns else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="windowsPE">
    <component name="Microsoft-Windows-Setup" processorArchitecture="amd64">
      <WindowsDeploymentServices><ImageSelection><InstallImage>
        <ImageName>Windows Server 2022 SERVERDATACENTER</ImageName><ImageGroup>WS2022</ImageGroup>
      </InstallImage></ImageSelection></WindowsDeploymentServices>
    </component>
  </settings>
  <settings pass="specialize">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64">
      <ComputerName>{computer_name}</ComputerName>
    </component>
    <component name="Microsoft-Windows-UnattendedJoin" processorArchitecture="amd64">
      <Identification><JoinDomain>contoso.com</JoinDomain></Identification>
    </component>
    <component name="Microsoft-Windows-TCPIP" processorArchitecture="amd64">
      <Interfaces><Interface>
        <Ipv4Settings><DhcpEnabled>false</DhcpEnabled></Ipv4Settings>
        <Identifier>{mac}</Identifier>
        <UnicastIpAddresses><IpAddress {_WCM}>{address}/24</IpAddress></UnicastIpAddresses>{route}
      </Interface></Interfaces>
    </component>{dns_client}
  </settings>
</unattend>"""
